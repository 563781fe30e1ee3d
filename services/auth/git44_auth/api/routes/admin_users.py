"""Admin: list, inspect, update (role, disabled) and delete users, mail a password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from git44_auth import admin, deletion
from git44_auth.api.deps import AdminUser, Ctx, require_admin
from git44_auth.models import (
    AcceptedPublic,
    UserAdminPublic,
    UserFilter,
    UsersPublic,
    UserUpdate,
)
from git44_common.clock import utc_now
from git44_common.openapi import prefixed_operation_ids
from git44_common.tokens import Role

router = APIRouter(
    prefix="/api/admin/users",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    generate_unique_id_function=prefixed_operation_ids("admin"),
)


@router.get("", response_model=UsersPublic)
async def list_users(
    ctx: Ctx,
    email: Annotated[
        str | None, Query(max_length=320, description="substring of the email")
    ] = None,
    role: Role | None = None,
    disabled: bool | None = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UsersPublic:
    """Users, newest first, filtered by email substring, role and disabled flag."""
    which = UserFilter(email_contains=email, role=role, disabled=disabled)
    page, next_cursor = await admin.list_users(ctx.db, which, cursor=cursor, limit=limit)
    return UsersPublic(data=[UserAdminPublic.from_doc(u) for u in page], next_cursor=next_cursor)


@router.get("/{user_id}", response_model=UserAdminPublic)
async def read_user(ctx: Ctx, user_id: str) -> UserAdminPublic:
    """One user."""
    return UserAdminPublic.from_doc(await admin.get_user(ctx.db, user_id))


@router.patch("/{user_id}", response_model=UserAdminPublic)
async def update_user(
    ctx: Ctx, principal: AdminUser, user_id: str, body: UserUpdate
) -> UserAdminPublic:
    """Change a user's role and/or disabled flag (recorded in the audit log)."""
    user = await admin.update_user_as_admin(
        ctx, actor_id=principal.user_id, user_id=user_id, update=body, now=utc_now()
    )
    return UserAdminPublic.from_doc(user)


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(ctx: Ctx, principal: AdminUser, user_id: str) -> Response:
    """Delete a user's account and their data everywhere (recorded in the audit log)."""
    await deletion.delete_account_as_admin(
        ctx, actor_id=principal.user_id, user_id=user_id, now=utc_now()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{user_id}/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedPublic,
)
async def mail_password_reset(ctx: Ctx, principal: AdminUser, user_id: str) -> AcceptedPublic:
    """Mail the user a link to reset their password (recorded in the audit log)."""
    await admin.mail_password_reset_as_admin(
        ctx, actor_id=principal.user_id, user_id=user_id, now=utc_now()
    )
    return AcceptedPublic(detail="A password reset link was mailed to the user.")
