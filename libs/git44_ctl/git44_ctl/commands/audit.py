"""`git44ctl audit`: read the audit log of every service's admin actions (jobs-api)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from git44_ctl.context import AsJson, Limit, connected, no_limit
from git44_ctl.output import show

app = typer.Typer(help="The audit log: who did what, when.", no_args_is_help=True)

COLUMNS = [("AT", "at"), ("SERVICE", "service"), ("ACTOR", "actor"), ("ACTION", "action"),
           ("TARGET", "target"), ("AFTER", "after")]  # fmt: skip
_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
TIME_HELP = "ISO-8601 (2026-03-01T12:00Z; UTC unless it says) or an age: 30m, 12h, 7d"


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO-8601 time (UTC when it names no zone), or `now` less an age like `12h`."""
    ago = _AGO.match(text.strip())
    if ago:
        amount, unit = int(ago.group(1)), _UNITS[ago.group(2)]
        return (now or datetime.now(UTC)) - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: {TIME_HELP}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(text: str | None) -> str | None:
    return None if text is None else parse_time(text).isoformat()


@app.command("list")
def list_entries(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="a user id")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. dead_letter.replay, job.retry")] = None,
    target: Annotated[str | None, typer.Option(help="e.g. a job or user id")] = None,
    since: Annotated[str | None, typer.Option(help=f"from then on: {TIME_HELP}")] = None,
    until: Annotated[str | None, typer.Option(help=f"before then: {TIME_HELP}")] = None,
    limit: Limit = 50,
    as_json: AsJson = False,
) -> None:
    """Admin actions of every service, newest first."""
    params = {"actor": actor, "action": action, "target": target,
              "since": _iso(since), "until": _iso(until)}  # fmt: skip
    with connected(ctx) as api:
        found = list(
            api.pages("jobs", "/api/admin/audit-log", params=params, limit=no_limit(limit))
        )
    show(found, as_json=as_json, columns=COLUMNS)
