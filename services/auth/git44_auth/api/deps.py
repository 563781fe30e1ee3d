"""FastAPI dependencies of the auth API, declared once as `Annotated` aliases.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain
`def` dependency in its thread pool, a thread hop on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from git44_auth.context import AuthContext
from git44_auth.crud import users
from git44_common.exceptions import Forbidden
from git44_common.openapi import authorization_header
from git44_common.security import Principal


async def get_context(request: Request) -> AuthContext:
    context: AuthContext = request.app.state.auth
    return context


Ctx = Annotated[AuthContext, Depends(get_context)]


async def get_current_user(
    ctx: Ctx, authorization: Annotated[str | None, Depends(authorization_header)]
) -> Principal:
    return await ctx.authenticator.from_bearer(authorization)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def require_admin(ctx: Ctx, principal: CurrentUser) -> Principal:
    """An admin token *and* the admin role now: a demoted admin is refused at once."""
    if not principal.is_admin:
        raise Forbidden("Administrator role required.")
    user = await users.get_user(ctx.db, principal.user_id)
    if user is None or user.get("role") != "admin" or user.get("disabled"):
        raise Forbidden("Administrator role required.")
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]


async def get_client_ip(request: Request) -> str:
    """The caller's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(get_client_ip)]
