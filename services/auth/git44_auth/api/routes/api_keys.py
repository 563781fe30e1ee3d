"""The caller's Dev API keys (another user's key is a 404, never a 403)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from git44_auth import accounts
from git44_auth.api.deps import Ctx, CurrentUser, NoStore
from git44_auth.models import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPublic
from git44_common.clock import utc_now
from git44_common.openapi import problems

router = APIRouter(prefix="/api/auth/api-keys", tags=["api-keys"], dependencies=[NoStore])


@router.get("", response_model=ApiKeysPublic)
async def list_api_keys(ctx: Ctx, principal: CurrentUser) -> ApiKeysPublic:
    """The caller's live API keys, newest first (secrets are never shown again)."""
    records = await accounts.list_api_keys(
        ctx.db, principal.user_id, limit=ctx.settings.max_api_keys_per_user
    )
    return ApiKeysPublic(data=[ApiKeyPublic.from_doc(r) for r in records])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problems(
        described={
            403: "forbidden, or email_unverified: verify the email address first",
            409: "conflict: too many active API keys",
            422: "expiresAt not in the future",
        }
    ),
)
async def create_api_key(ctx: Ctx, principal: CurrentUser, body: ApiKeyCreate) -> ApiKeyCreated:
    """Create an API key; the `key` is in this response only."""
    new = await accounts.create_api_key(
        ctx, user_id=principal.user_id, name=body.name, expires_at=body.expires_at, now=utc_now()
    )
    return ApiKeyCreated.from_doc(new.record, key=new.key)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(ctx: Ctx, principal: CurrentUser, key_id: str) -> Response:
    """Revoke an API key; it stops working at once."""
    await accounts.revoke_api_key(ctx.db, user_id=principal.user_id, key_id=key_id, now=utc_now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
