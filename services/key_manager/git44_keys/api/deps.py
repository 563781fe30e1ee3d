"""FastAPI dependencies of key-manager, declared once as `Annotated` aliases
(`CurrentUser`, `AdminUser`, `require_admin` are git44_common's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from git44_common.dependencies import AdminUser, CurrentUser, get_context, require_admin
from git44_keys.context import KeysContext
from git44_keys.registry import KeyRegistry

__all__ = ["AdminUser", "Ctx", "CurrentUser", "Registry", "require_admin"]

Ctx = Annotated[KeysContext, Depends(get_context)]


async def get_registry(ctx: Ctx) -> KeyRegistry:
    return ctx.registry


Registry = Annotated[KeyRegistry, Depends(get_registry)]
