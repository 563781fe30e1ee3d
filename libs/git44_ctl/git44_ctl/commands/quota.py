"""`git44ctl quota`: set a user's credits and limits (jobs-api's admin API)."""

from __future__ import annotations

from typing import Annotated

import typer

from git44_ctl.context import AsJson, connected
from git44_ctl.output import show

app = typer.Typer(help="Quotas: set a user's credits and daily limit.", no_args_is_help=True)

COLUMNS = [("TOTAL", "totalQuota"), ("REMAINING", "remainingQuota"),
           ("DAILY LIMIT", "dailyLimit"), ("USED TODAY", "dailyUsed"),
           ("RESETS", "resetAt")]  # fmt: skip


@app.command("set")
def set_quota(
    ctx: typer.Context,
    user_id: str,
    total: Annotated[int | None, typer.Option(min=0, help="total credits")] = None,
    remaining: Annotated[int | None, typer.Option(min=0, help="credits left")] = None,
    daily_limit: Annotated[int | None, typer.Option(min=0, help="credits a day")] = None,
    add: Annotated[int | None, typer.Option(help="add to total and remaining")] = None,
    as_json: AsJson = False,
) -> None:
    """Change a user's quota in one atomic update (audited)."""
    change = {"totalQuota": total, "remainingQuota": remaining,
              "dailyLimit": daily_limit, "addCredits": add}  # fmt: skip
    body = {name: value for name, value in change.items() if value is not None}
    if not body:
        raise typer.BadParameter("give at least one of --total, --remaining, --daily-limit, --add")
    with connected(ctx) as api:
        quota = api.request("jobs", "PATCH", f"/api/admin/users/{user_id}/quota", json=body)
    show(quota, as_json=as_json, columns=COLUMNS)
