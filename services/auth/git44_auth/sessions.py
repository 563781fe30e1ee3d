"""Sessions: token pairs, refresh rotation with reuse detection, and ending sessions.

Each login starts a session: its id is the tokens' `sid` and their refresh-token
*family*. A refresh token works once: refreshing marks it `replaced_by` the next one
(atomically, so two concurrent refreshes cannot both win). Presenting a token that was
already replaced means it leaked or was replayed: the session ends — the attacker's
and the user's newest token alike — and the answer is 401 `token_invalid`.

Ending a session is decided by the `sessions` document, not by the refresh tokens
found at that moment: a refresh that claimed its token just before a reuse ended the
session inserts its new token after the family was revoked, so it checks the session
again once the token is written (the rotation race), and every refresh checks it first.

Ending writes MongoDB, then announces `SessionsEnded` (`session_events`); every service
refuses the ended sessions' access tokens within seconds (`git44_common.sessions`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NoReturn

from git44_auth.context import AuthContext
from git44_auth.crud import refresh_tokens, users
from git44_auth.crud import sessions as sessions_crud
from git44_auth.metrics import REFRESH_REUSE, REFRESHES
from git44_auth.session_events import announce_sessions_ended
from git44_auth.tokens import TokenPair, mint_pair
from git44_common.contracts import SessionsEnded
from git44_common.exceptions import TokenInvalid
from git44_common.ids import new_id
from git44_common.mongo import Document

log = logging.getLogger(__name__)


async def start_session(ctx: AuthContext, user: Document, *, now: datetime) -> TokenPair:
    """A new session of `user` and its first token pair."""
    return await _issue_pair(ctx, user, session_id=new_id(), now=now)


async def rotate_session(ctx: AuthContext, refresh_token: str, *, now: datetime) -> TokenPair:
    """The next token pair of the session of `refresh_token`, which stops working."""
    claims = await ctx.verifier.verify(refresh_token, token_type="refresh")
    user = await users.get_user(ctx.db, claims.sub)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    if user.get("disabled"):  # disabling ended every session of the user
        raise TokenInvalid("This account is disabled.")
    record = await refresh_tokens.get_refresh_token(ctx.db, claims.jti)
    if record is None or await _has_ended(ctx, record["family_id"]):
        raise TokenInvalid("The refresh token is no longer valid.")
    session_id = record["family_id"]  # tokens from before sessions had ids: their family
    pair = mint_pair(
        ctx.keys, ctx.policy, user_id=user["_id"], role=user["role"], now=now, session_id=session_id
    )
    claimed = await refresh_tokens.claim_refresh_token(
        ctx.db, jti=claims.jti, replaced_by=pair.refresh.jti, now=now
    )
    if claimed is None:
        await _refuse_reused(ctx, claims.jti, now=now)
    await _store_refresh_token(ctx, pair, session_id=session_id, user_id=user["_id"], now=now)
    if await _has_ended(ctx, session_id):  # a reuse ended it while the token was written
        await refresh_tokens.revoke_family(ctx.db, family_id=session_id, now=now)
        raise TokenInvalid("The refresh token is no longer valid.")
    REFRESHES.inc()
    return pair


async def end_session(ctx: AuthContext, refresh_token: str, *, now: datetime) -> None:
    """Log out: end the session of `refresh_token` (idempotent)."""
    claims = await ctx.verifier.verify(refresh_token, token_type="refresh")
    record = await refresh_tokens.get_refresh_token(ctx.db, claims.jti)
    if record is None:
        return
    await _end_one(ctx, record, reason="logout", now=now)


async def end_all_sessions(ctx: AuthContext, user_id: str, *, now: datetime, reason: str) -> None:
    """End every session of the user (log out everywhere, password change or reset,
    disabling, deletion): refresh tokens refused at once, access tokens by every
    service within seconds; tokens issued before `now` without a `sid` too. A session
    started after this call is not affected."""
    ended = await sessions_crud.end_user_sessions(ctx.db, user_id=user_id, reason=reason, now=now)
    await users.set_sessions_valid_after(ctx.db, user_id=user_id, now=now)
    revoked = await refresh_tokens.revoke_user_tokens(ctx.db, user_id=user_id, now=now)
    await _announce(
        ctx, SessionsEnded(user_id=user_id, session_ids=ended, valid_after=now, reason=reason)
    )
    log.info(
        "all sessions ended",
        extra={"user_id": user_id, "reason": reason, "revoked_count": revoked},
    )


async def _issue_pair(
    ctx: AuthContext, user: Document, *, session_id: str, now: datetime
) -> TokenPair:
    pair = mint_pair(
        ctx.keys, ctx.policy, user_id=user["_id"], role=user["role"], now=now, session_id=session_id
    )
    await _store_refresh_token(ctx, pair, session_id=session_id, user_id=user["_id"], now=now)
    return pair


async def _store_refresh_token(
    ctx: AuthContext, pair: TokenPair, *, session_id: str, user_id: str, now: datetime
) -> None:
    await sessions_crud.ensure_session(
        ctx.db, session_id=session_id, user_id=user_id, expires_at=pair.refresh.expires_at, now=now
    )
    await refresh_tokens.insert_refresh_token(
        ctx.db,
        jti=pair.refresh.jti,
        family_id=session_id,
        user_id=user_id,
        expires_at=pair.refresh.expires_at,
        now=now,
    )


async def _has_ended(ctx: AuthContext, session_id: str) -> bool:
    session = await sessions_crud.get_session(ctx.db, session_id)
    return session is not None and session.get("ended_at") is not None


async def _refuse_reused(ctx: AuthContext, jti: str, *, now: datetime) -> NoReturn:
    record = await refresh_tokens.get_refresh_token(ctx.db, jti)
    if record is not None and record.get("replaced_by") is not None:
        await _end_one(ctx, record, reason="refresh_reuse", now=now)
        REFRESH_REUSE.inc()
        log.warning(
            "refresh token reuse detected; session ended", extra={"user_id": record["user_id"]}
        )
    raise TokenInvalid("The refresh token is no longer valid.")


async def _end_one(ctx: AuthContext, record: Document, *, reason: str, now: datetime) -> None:
    """End the session of the refresh-token `record`: the session first (the mark the
    services and every later refresh go by), then its refresh tokens."""
    session_id, user_id = record["family_id"], record["user_id"]
    await sessions_crud.end_session(
        ctx.db,
        session_id=session_id,
        user_id=user_id,
        reason=reason,
        expires_at=record["expires_at"],
        now=now,
    )
    await refresh_tokens.revoke_family(ctx.db, family_id=session_id, now=now)
    await _announce(ctx, SessionsEnded(user_id=user_id, session_ids=[session_id], reason=reason))


async def _announce(ctx: AuthContext, event: SessionsEnded) -> None:
    # this replica refuses the tokens at once; the others when the event reaches them
    ctx.authenticator.sessions_ended(event)
    await announce_sessions_ended(ctx.publisher, event)
