"""Admin API of the ScraperAPI key pool; keys are only ever shown masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from git44_common.circuits import CircuitState, Upstream, circuit_state
from git44_common.clock import utc_now
from git44_common.mongo import Document
from git44_common.openapi import prefixed_operation_ids, problems
from git44_keys.api.deps import AdminUser, Ctx, Registry, require_admin
from git44_keys.models import (
    CircuitPublic,
    KeysSummaryPublic,
    ScraperKeyCreate,
    ScraperKeyPublic,
    ScraperKeysPublic,
    ScraperKeyUpdate,
)

router = APIRouter(
    prefix="/api/admin/scraper-keys",
    tags=["admin: scraper keys"],
    dependencies=[Depends(require_admin)],
    generate_unique_id_function=prefixed_operation_ids("admin"),
)


@router.get("", response_model=ScraperKeysPublic, response_model_by_alias=True)
async def list_scraper_keys(
    registry: Registry,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ScraperKeysPublic:
    """The pool's keys, oldest first, masked."""
    page, next_cursor = await registry.list_keys(cursor=cursor, limit=limit)
    data = [ScraperKeyPublic.from_doc(key) for key in page]
    return ScraperKeysPublic(data=data, next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ScraperKeyPublic,
    response_model_by_alias=True,
    responses=problems(described={409: "conflict: the key is registered already"}),
)
async def add_scraper_key(
    body: ScraperKeyCreate, registry: Registry, admin: AdminUser, ctx: Ctx
) -> ScraperKeyPublic:
    """Add a key to the pool (stored encrypted; 409 if it is already there)."""
    max_concurrency = body.max_concurrency or ctx.settings.default_max_concurrency
    key = await registry.add_key(
        body.api_key, label=body.label, max_concurrency=max_concurrency, actor=admin.user_id
    )
    return ScraperKeyPublic.from_doc(key)


@router.get("/summary", response_model=KeysSummaryPublic, response_model_by_alias=True)
async def summarize_scraper_keys(registry: Registry) -> KeysSummaryPublic:
    """Counts by state, while the pool cools down when it ends, and the upstreams'
    circuit breakers."""
    summary = await registry.summarize()
    now = utc_now()
    found = await registry.circuits()
    return KeysSummaryPublic(
        total=sum(summary.by_state.values()),
        by_state=summary.by_state,
        in_flight=summary.in_flight,
        cooldown_until=summary.cooldown_until,
        circuits=[_circuit(name, found.get(name), now) for name in Upstream],
    )


def _circuit(name: Upstream, doc: Document | None, now: datetime) -> CircuitPublic:
    state = circuit_state(doc, now=now)
    doc = doc or {}
    is_open = state is not CircuitState.CLOSED
    return CircuitPublic(
        upstream=name,
        state=state,
        opened_at=doc.get("opened_at") if is_open else None,
        reason=doc.get("reason") if is_open else None,
        next_probe_at=doc.get("next_probe_at") if is_open else None,
        opened_count=int(doc.get("opened_count") or 0),
    )


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_scraper_key(key_id: str, registry: Registry, admin: AdminUser) -> Response:
    """Remove a key from the pool."""
    await registry.delete_key(key_id, actor=admin.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch(
    "/{key_id}",
    response_model=ScraperKeyPublic,
    response_model_by_alias=True,
    responses=problems(described={409: "conflict: the key's state changed meanwhile"}),
)
async def update_scraper_key(
    key_id: str, body: ScraperKeyUpdate, registry: Registry, admin: AdminUser
) -> ScraperKeyPublic:
    """Change a key's label, maxConcurrency or enabled state (audited)."""
    key = await registry.update_key(
        key_id,
        actor=admin.user_id,
        label=body.label,
        max_concurrency=body.max_concurrency,
        enabled=body.enabled,
    )
    return ScraperKeyPublic.from_doc(key)


@router.post("/{key_id}/reset", response_model=ScraperKeyPublic, response_model_by_alias=True)
async def reset_scraper_key(key_id: str, registry: Registry, admin: AdminUser) -> ScraperKeyPublic:
    """Put a key back to active with its counters cleared."""
    return ScraperKeyPublic.from_doc(await registry.reset_key(key_id, actor=admin.user_id))
