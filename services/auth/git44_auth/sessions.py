"""Sessions: token pairs, refresh rotation with reuse detection, logout.

Each login starts a token *family*. A refresh token works once: refreshing marks it
`replaced_by` the next one (atomically, so two concurrent refreshes cannot both win).
Presenting a token that was already replaced means it leaked or was replayed: the
whole family is revoked — the attacker's and the user's newest token alike — and the
answer is 401 `token_invalid`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NoReturn

from git44_auth.context import AuthContext
from git44_auth.crud import refresh_tokens, users
from git44_auth.metrics import REFRESH_REUSE, REFRESHES
from git44_auth.tokens import TokenPair, mint_pair
from git44_common.exceptions import Forbidden, TokenInvalid
from git44_common.ids import new_id
from git44_common.mongo import Document

log = logging.getLogger(__name__)


async def start_session(
    ctx: AuthContext, user: Document, *, now: datetime, family_id: str | None = None
) -> TokenPair:
    """A new token pair for `user`; its refresh token joins `family_id` (or a new family)."""
    pair = mint_pair(ctx.keys, ctx.policy, user_id=user["_id"], role=user["role"], now=now)
    await refresh_tokens.insert_refresh_token(
        ctx.db,
        jti=pair.refresh.jti,
        family_id=family_id or new_id(),
        user_id=user["_id"],
        expires_at=pair.refresh.expires_at,
        now=now,
    )
    return pair


async def rotate_session(ctx: AuthContext, refresh_token: str, *, now: datetime) -> TokenPair:
    """The next token pair of the family of `refresh_token`, which stops working."""
    claims = await ctx.verifier.verify(refresh_token, token_type="refresh")
    user = await users.get_user(ctx.db, claims.sub)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    if user.get("disabled"):
        raise Forbidden("This account is disabled.")
    pair = mint_pair(ctx.keys, ctx.policy, user_id=user["_id"], role=user["role"], now=now)
    claimed = await refresh_tokens.claim_refresh_token(
        ctx.db, jti=claims.jti, replaced_by=pair.refresh.jti, now=now
    )
    if claimed is None:
        await _refuse_reused(ctx, claims.jti, now=now)
    await refresh_tokens.insert_refresh_token(
        ctx.db,
        jti=pair.refresh.jti,
        family_id=claimed["family_id"],
        user_id=user["_id"],
        expires_at=pair.refresh.expires_at,
        now=now,
    )
    REFRESHES.inc()
    return pair


async def _refuse_reused(ctx: AuthContext, jti: str, *, now: datetime) -> NoReturn:
    record = await refresh_tokens.get_refresh_token(ctx.db, jti)
    if record is not None and record.get("replaced_by") is not None:
        revoked = await refresh_tokens.revoke_family(ctx.db, family_id=record["family_id"], now=now)
        REFRESH_REUSE.inc()
        log.warning(
            "refresh token reuse detected; family revoked",
            extra={"user_id": record["user_id"], "revoked_count": revoked},
        )
    raise TokenInvalid("The refresh token is no longer valid.")


async def end_session(ctx: AuthContext, refresh_token: str, *, now: datetime) -> None:
    """Revoke the family of `refresh_token` (idempotent for an already revoked family)."""
    claims = await ctx.verifier.verify(refresh_token, token_type="refresh")
    record = await refresh_tokens.get_refresh_token(ctx.db, claims.jti)
    if record is None:
        return
    await refresh_tokens.revoke_family(ctx.db, family_id=record["family_id"], now=now)
