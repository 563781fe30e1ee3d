"""FastAPI dependencies of key-manager, declared once as `Annotated` aliases.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain
`def` dependency in its thread pool, a thread hop on every request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from git44_common.exceptions import Forbidden
from git44_common.mongo import Database
from git44_common.openapi import authorization_header
from git44_common.security import Principal
from git44_keys.context import KeysContext
from git44_keys.registry import KeyRegistry


async def get_context(request: Request) -> KeysContext:
    context: KeysContext = request.app.state.keys
    return context


Context = Annotated[KeysContext, Depends(get_context)]


async def get_db(context: Context) -> Database:
    return context.db


async def get_registry(context: Context) -> KeyRegistry:
    return context.registry


Db = Annotated[Database, Depends(get_db)]
Registry = Annotated[KeyRegistry, Depends(get_registry)]


async def get_principal(
    context: Context, authorization: Annotated[str | None, Depends(authorization_header)]
) -> Principal:
    return await context.authenticator.from_bearer(authorization)


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden("This endpoint is for administrators.")
    return principal


AdminUser = Annotated[Principal, Depends(require_admin)]
