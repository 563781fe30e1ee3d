"""Registration, login, token refresh, logout, the current user, password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from git44_auth import accounts, deletion, export, sessions
from git44_auth.api.deps import ClientIp, Ctx, CurrentUser, NoStore
from git44_auth.models import (
    AccountDeleteRequest,
    AccountExportPublic,
    ApiKeyCreated,
    LoginRequest,
    PasswordChangeRequest,
    RefreshRequest,
    RegisteredPublic,
    RegisterRequest,
    SessionPublic,
    TokensPublic,
    UserPublic,
)
from git44_common.clock import utc_now
from git44_common.exceptions import TokenInvalid
from git44_common.openapi import problems
from git44_common.ratelimit import note_usage

router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[NoStore])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisteredPublic,
    responses=problems(
        described={409: "email_taken", 429: "rate_limited: registrations per IP or in all"}
    ),
)
async def register(
    request: Request, ctx: Ctx, body: RegisterRequest, client_ip: ClientIp
) -> RegisteredPublic:
    """Create an account; returns tokens and the first Dev API key (shown only once)."""
    now = utc_now()
    note_usage(request.state, await ctx.throttle.count_registration(ip=client_ip, now=now))
    done = await accounts.register(ctx, body, now=now)
    api_key = ApiKeyCreated.from_doc(done.api_key.record, key=done.api_key.key)
    return RegisteredPublic.of(done.tokens, user=UserPublic.from_doc(done.user), api_key=api_key)


@router.post(
    "/login",
    response_model=SessionPublic,
    responses=problems(
        403, described={401: "invalid_credentials", 429: "rate_limited (Retry-After)"}
    ),
)
async def login(
    request: Request, ctx: Ctx, body: LoginRequest, client_ip: ClientIp
) -> SessionPublic:
    """Exchange email and password for an access and a refresh token."""
    now = utc_now()
    limits = await ctx.throttle.count_login(ip=client_ip, email=body.email, now=now)
    note_usage(request.state, limits)
    user, tokens = await accounts.log_in(
        ctx, email=body.email, password=body.password, client_ip=client_ip, now=now
    )
    return SessionPublic.of(tokens, user=UserPublic.from_doc(user))


@router.post("/refresh", response_model=TokensPublic, responses=problems(401, 403))
async def refresh(ctx: Ctx, body: RefreshRequest) -> TokensPublic:
    """Rotate a refresh token: it stops working and a new pair is returned."""
    tokens = await sessions.rotate_session(ctx, body.refresh_token, now=utc_now())
    return TokensPublic.of(tokens)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401))
async def logout(ctx: Ctx, body: RefreshRequest) -> Response:
    """End the session of a refresh token (its whole family is revoked)."""
    await sessions.end_session(ctx, body.refresh_token, now=utc_now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=problems(401))
async def logout_all(ctx: Ctx, principal: CurrentUser) -> Response:
    """Log out everywhere: end every session of the caller, this one included."""
    await sessions.end_all_sessions(ctx, principal.user_id, now=utc_now(), reason="logout_all")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=UserPublic, operation_id="readMe")
async def me(ctx: Ctx, principal: CurrentUser) -> UserPublic:
    """The authenticated user."""
    user = await accounts.get_account(ctx.db, principal.user_id)
    if user is None:
        raise TokenInvalid("The user no longer exists.")
    return UserPublic.from_doc(user)


@router.get("/me/export", response_model=AccountExportPublic, responses=problems(401, 503))
async def export_me(
    ctx: Ctx, principal: CurrentUser, authorization: Annotated[str, Header()]
) -> AccountExportPublic:
    """Everything Git44 holds about the caller (account, API keys, quota, jobs) as JSON."""
    return await export.export_account(ctx, user_id=principal.user_id, authorization=authorization)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(503, described={401: "invalid_credentials / token_invalid"}),
)
async def delete_me(ctx: Ctx, principal: CurrentUser, body: AccountDeleteRequest) -> Response:
    """Delete the caller's account and, through an event, their data in every service."""
    await deletion.delete_own_account(
        ctx, user_id=principal.user_id, current_password=body.current_password, now=utc_now()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    response_model=TokensPublic,
    responses=problems(
        described={
            401: "invalid_credentials / token_invalid",
            429: "rate_limited: password change attempts",
        }
    ),
)
async def change_password(
    request: Request, ctx: Ctx, principal: CurrentUser, body: PasswordChangeRequest
) -> TokensPublic:
    """Change the password; every refresh token is revoked and a new pair is returned."""
    now = utc_now()
    limits = await ctx.throttle.count_password_change(user_id=principal.user_id, now=now)
    note_usage(request.state, limits)
    tokens = await accounts.change_password(ctx, user_id=principal.user_id, request=body, now=now)
    return TokensPublic.of(tokens)
