"""FastAPI dependencies of jobs-api, declared once as `Annotated` aliases.

`CurrentUser` and `ApiKeyUser` are git44_common's callers counted against jobs-api's
request limits (ratelimits/service.py); their usage ends up in the response's
RateLimit headers (git44_common.ratelimit.RateLimitHeadersMiddleware).

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain
`def` dependency in its thread pool, a thread hop on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader

from git44_common.dependencies import CurrentUser as BearerUser
from git44_common.dependencies import get_context
from git44_common.dependencies import require_admin as admin_only
from git44_common.openapi import authorization_header
from git44_common.ratelimit import note_usage
from git44_common.security import Authenticator, Principal
from git44_jobs.context import JobsContext
from git44_jobs.idempotency.service import check_key

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="Dev API key (g44_…)")

__all__ = [
    "AdminUser",
    "AnyUser",
    "ApiKeyUser",
    "Ctx",
    "CurrentUser",
    "IdempotencyKey",
    "require_admin",
]

Ctx = Annotated[JobsContext, Depends(get_context)]


async def current_user(request: Request, ctx: Ctx, caller: BearerUser) -> Principal:
    """The caller of a bearer-token request, counted against the user's request limit."""
    note_usage(request.state, await ctx.limiter.count_request(caller))
    return caller


CurrentUser = Annotated[Principal, Depends(current_user)]


async def require_admin(user: CurrentUser) -> Principal:
    return await admin_only(user)


AdminUser = Annotated[Principal, Depends(require_admin)]


async def api_key_user(
    request: Request, ctx: Ctx, key: Annotated[str | None, Depends(_api_key)]
) -> Principal:
    """The owner of the `X-API-Key`, counted against the key's and the user's limits."""
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.from_api_key(key)
    note_usage(request.state, await ctx.limiter.count_request(caller))
    return caller


ApiKeyUser = Annotated[Principal, Depends(api_key_user)]


async def api_key_or_bearer_user(
    request: Request,
    ctx: Ctx,
    key: Annotated[str | None, Depends(_api_key)],
    authorization: Annotated[str | None, Depends(authorization_header)],
) -> Principal:
    """The caller of a route open to integrations and the SPA: the owner of the
    `X-API-Key` when one is sent, else the bearer token's."""
    if key is not None:
        return await api_key_user(request, ctx, key)
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.from_bearer(authorization)
    note_usage(request.state, await ctx.limiter.count_request(caller))
    return caller


AnyUser = Annotated[Principal, Depends(api_key_or_bearer_user)]


async def idempotency_key(
    value: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str | None:
    return check_key(value)


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
