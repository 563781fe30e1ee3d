"""FastAPI dependencies of the auth API, declared once as `Annotated` aliases.

`CurrentUser` is git44_common's; `AdminUser` is stricter here than in other services:
auth re-reads the user, so a demoted or disabled admin is refused at once, not when
the authenticator's status cache expires.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response

from git44_auth.accounts import get_account
from git44_auth.context import AuthContext
from git44_common.dependencies import AdminUser as AdminToken
from git44_common.dependencies import CurrentUser, get_context
from git44_common.exceptions import Forbidden
from git44_common.security import Principal

__all__ = ["AdminUser", "ClientIp", "Ctx", "CurrentUser", "NoStore", "require_admin"]

Ctx = Annotated[AuthContext, Depends(get_context)]


async def require_admin(ctx: Ctx, principal: AdminToken) -> Principal:
    """An admin token *and* the admin role now: a demoted admin is refused at once."""
    user = await get_account(ctx.db, principal.user_id)
    if user is None or user.get("role") != "admin" or user.get("disabled"):
        raise Forbidden("Administrator role required.")
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]


async def get_client_ip(request: Request) -> str:
    """The caller's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


ClientIp = Annotated[str, Depends(get_client_ip)]


async def forbid_storing(response: Response) -> None:
    """Tokens, API keys and account data: no browser or proxy cache may keep the answer."""
    response.headers["Cache-Control"] = "no-store"


# On the routers whose answers carry tokens or keys (`/api/auth/...`), not on each route.
NoStore = Depends(forbid_storing)
