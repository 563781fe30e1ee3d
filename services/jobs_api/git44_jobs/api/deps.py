"""FastAPI dependencies of jobs-api, declared once as `Annotated` aliases
(`CurrentUser`, `AdminUser`, `require_admin` are git44_common's).

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain
`def` dependency in its thread pool, a thread hop on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader

from git44_common.dependencies import AdminUser, CurrentUser, get_context, require_admin
from git44_common.security import Authenticator, Principal
from git44_jobs.context import JobsContext
from git44_jobs.idempotency.service import check_key
from git44_jobs.ratelimits.service import count_request

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Dev API key (g44_…)")

__all__ = ["AdminUser", "ApiKeyUser", "Ctx", "CurrentUser", "IdempotencyKey", "require_admin"]

Ctx = Annotated[JobsContext, Depends(get_context)]


async def api_key_user(
    request: Request, ctx: Ctx, key: Annotated[str | None, Depends(_api_key)]
) -> Principal:
    """The owner of the `X-API-Key`, counted against the key's rate limit."""
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.from_api_key(key)
    settings = ctx.settings
    await count_request(
        ctx.db,
        f"api_key:{principal.api_key_id}",
        limit=settings.api_key_rate_limit,
        window_seconds=settings.api_key_rate_window_seconds,
        now=ctx.now(),
    )
    return principal


ApiKeyUser = Annotated[Principal, Depends(api_key_user)]


async def idempotency_key(
    value: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    return check_key(value)


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
