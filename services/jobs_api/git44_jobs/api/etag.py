"""ETags for GET responses: a hash of the JSON body; `If-None-Match` that matches → 304."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

IfNoneMatch = Annotated[
    str | None,
    Header(description="ETags of copies the client has: 304 with no body if one still matches"),
]
# `responses=` entry for the routes that answer with `etag_response`.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "not modified: the If-None-Match ETag still matches (no body)"}
}


def compute_etag(content: Any) -> str:
    body = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    weak = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == weak for tag in header.split(","))


def etag_response(model: BaseModel, if_none_match: str | None) -> Response:
    """`model` as JSON with an ETag, or an empty 304 when the client already has it."""
    content = jsonable_encoder(model, by_alias=True)
    etag = compute_etag(content)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(content, headers=headers)
