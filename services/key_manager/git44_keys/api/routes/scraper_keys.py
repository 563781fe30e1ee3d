"""Admin API of the ScraperAPI key pool; keys are only ever shown masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from git44_common.openapi import problems
from git44_common.pagination import decode_cursor, encode_cursor
from git44_keys.api.deps import AdminUser, Context, Db, Registry, require_admin
from git44_keys.crud import keys
from git44_keys.models import (
    KeysSummaryPublic,
    ScraperKeyCreate,
    ScraperKeyPublic,
    ScraperKeysPublic,
)

router = APIRouter(
    prefix="/api/admin/scraper-keys",
    tags=["admin: scraper keys"],
    dependencies=[Depends(require_admin)],
)
_CURSOR_FIELDS = {"created_at": datetime, "id": str}


@router.get("", response_model=ScraperKeysPublic, response_model_by_alias=True)
async def list_scraper_keys(
    db: Db,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ScraperKeysPublic:
    """The pool's keys, oldest first, masked."""
    after = None
    if cursor:
        position = decode_cursor(cursor, fields=_CURSOR_FIELDS)
        after = (position["created_at"], position["id"])
    page = await keys.list_keys(db, after=after, limit=limit + 1)
    data = [ScraperKeyPublic.from_document(key) for key in page[:limit]]
    next_cursor = None
    if len(page) > limit:
        last = page[limit - 1]
        next_cursor = encode_cursor({"created_at": last["created_at"], "id": last["_id"]})
    return ScraperKeysPublic(data=data, next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScraperKeyPublic,
    response_model_by_alias=True,
    responses=problems(described={409: "conflict: the key is registered already"}),
)
async def add_scraper_key(
    body: ScraperKeyCreate, registry: Registry, admin: AdminUser, context: Context
) -> ScraperKeyPublic:
    """Add a key to the pool (stored encrypted; 409 if it is already there)."""
    max_concurrency = body.max_concurrency or context.settings.default_max_concurrency
    key = await registry.add_key(
        body.api_key, label=body.label, max_concurrency=max_concurrency, actor=admin.user_id
    )
    return ScraperKeyPublic.from_document(key)


@router.get("/summary", response_model=KeysSummaryPublic, response_model_by_alias=True)
async def summarize_scraper_keys(db: Db) -> KeysSummaryPublic:
    """Counts by state and, while the pool cools down, when it ends."""
    counts = await keys.count_by_status(db)
    return KeysSummaryPublic(
        total=sum(counts.values()),
        by_state=counts,
        in_flight=await keys.total_in_flight(db),
        cooldown_until=await keys.earliest_cooldown_end(db),
    )


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_scraper_key(key_id: str, registry: Registry, admin: AdminUser) -> Response:
    """Remove a key from the pool."""
    await registry.delete_key(key_id, actor=admin.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{key_id}/reset", response_model=ScraperKeyPublic, response_model_by_alias=True)
async def reset_scraper_key(key_id: str, registry: Registry, admin: AdminUser) -> ScraperKeyPublic:
    """Put a key back to active with its counters cleared."""
    return ScraperKeyPublic.from_document(await registry.reset_key(key_id, actor=admin.user_id))
