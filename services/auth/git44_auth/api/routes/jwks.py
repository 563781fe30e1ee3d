"""The public signing keys other services verify tokens with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from git44_auth.api.deps import Ctx

router = APIRouter(tags=["jwks"])


@router.get("/.well-known/jwks.json", operation_id="readJwks")
async def jwks(ctx: Ctx, response: Response) -> dict[str, Any]:
    """Every public key whose tokens are still valid (the first one signs new tokens)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return ctx.keys.jwks()
