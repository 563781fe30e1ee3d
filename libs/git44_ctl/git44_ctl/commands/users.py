"""`git44ctl users`: list, disable and enable accounts (auth's admin API)."""

from __future__ import annotations

from typing import Annotated

import typer

from git44_ctl.context import AsJson, Limit, connected, no_limit
from git44_ctl.output import show

app = typer.Typer(help="Users: list, disable, enable.", no_args_is_help=True)

COLUMNS = [("ID", "id"), ("EMAIL", "email"), ("ROLE", "role"), ("DISABLED", "disabled"),
           ("VERIFIED", "emailVerified"), ("CREATED", "createdAt")]  # fmt: skip


@app.command("list")
def list_users(
    ctx: typer.Context,
    email: Annotated[str | None, typer.Option(help="part of the email address")] = None,
    role: Annotated[str | None, typer.Option(help="user or admin")] = None,
    disabled: Annotated[
        bool | None, typer.Option("--disabled/--enabled", help="only disabled (enabled) users")
    ] = None,
    limit: Limit = 50,
    as_json: AsJson = False,
) -> None:
    """Users, newest first."""
    params = {"email": email, "role": role,
              "disabled": None if disabled is None else str(disabled).lower()}  # fmt: skip
    with connected(ctx) as api:
        found = list(api.pages("auth", "/api/admin/users", params=params, limit=no_limit(limit)))
    show(found, as_json=as_json, columns=COLUMNS)


def _set_disabled(ctx: typer.Context, user_id: str, disabled: bool, as_json: bool) -> None:
    with connected(ctx) as api:
        user = api.request("auth", "PATCH", f"/api/admin/users/{user_id}",
                           json={"disabled": disabled})  # fmt: skip
    show(user, as_json=as_json, columns=COLUMNS)


@app.command()
def disable(ctx: typer.Context, user_id: str, as_json: AsJson = False) -> None:
    """Disable a user: their sessions end, they cannot log in (audited)."""
    _set_disabled(ctx, user_id, True, as_json)


@app.command()
def enable(ctx: typer.Context, user_id: str, as_json: AsJson = False) -> None:
    """Enable a disabled user again (audited)."""
    _set_disabled(ctx, user_id, False, as_json)
