"""FastAPI dependencies every HTTP service shares: its context and who is calling.

A service's lifespan sets two attributes of `app.state`:

    app.state.context = context                      # what its routes work with
    app.state.authenticator = context.authenticator  # a git44_common.security.Authenticator

and its `api/deps.py` declares the aliases its routes use:

    Ctx = Annotated[AuthContext, Depends(get_context)]
    from git44_common.dependencies import AdminUser, CurrentUser, require_admin

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain
`def` dependency in its thread pool, a thread hop on every request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from git44_common.exceptions import Forbidden
from git44_common.openapi import authorization_header
from git44_common.security import Authenticator, Principal


async def get_context(request: Request) -> Any:
    """`app.state.context`: the service's context, typed by the service's `Ctx` alias."""
    return request.app.state.context


async def current_user(
    request: Request, authorization: Annotated[str | None, Depends(authorization_header)]
) -> Principal:
    """The caller of a bearer token (401 without a valid one, or a disabled user's)."""
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.from_bearer(authorization)


CurrentUser = Annotated[Principal, Depends(current_user)]


async def require_admin(principal: CurrentUser) -> Principal:
    """The caller, if an admin (the role stored in `users` wins over the token's)."""
    if not principal.is_admin:
        raise Forbidden("Administrator role required.")
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]
