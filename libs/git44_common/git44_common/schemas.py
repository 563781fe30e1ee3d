"""The base of every HTTP schema: camelCase on the wire, ISO-8601 UTC times, pages.

class JobPublic(ApiModel): ...            # {"inputLink": ..., "createdAt": "…Z"}
class JobsPublic(Page[JobPublic]): ...    # {"data": [...], "nextCursor": ...}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, PlainSerializer, WithJsonSchema
from pydantic.alias_generators import to_camel


def iso_utc(value: datetime) -> str:
    """`value` as ISO-8601 in UTC with milliseconds and a `Z` (naive means UTC)."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# serialized by `iso_utc`, still documented as a date-time in OpenAPI
IsoTime = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class ApiModel(BaseModel):
    """camelCase aliases on the wire; Python code uses the snake_case names."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], **fields: Any) -> Self:
        """The response for a stored document: `_id` becomes `id`, the other fields are
        taken by their (snake_case) names and the rest left out; `fields` add or
        override values."""
        return cls.model_validate({**doc, "id": doc.get("_id"), **fields})


class ApiInput(ApiModel):
    """A request body: unknown fields are refused (422), not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


ItemT = TypeVar("ItemT")


class Page(ApiModel, Generic[ItemT]):
    """One page of a list: the items and the cursor of the next page (None on the last)."""

    data: list[ItemT]
    next_cursor: str | None
