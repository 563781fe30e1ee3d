"""`git44ctl keys`: the ScraperAPI key pool (key-manager's admin API; keys shown masked)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from git44_ctl.context import AsJson, Limit, connected, no_limit
from git44_ctl.output import show

app = typer.Typer(help="ScraperAPI keys: list, add, disable, enable, patch.", no_args_is_help=True)

PATH = "/api/admin/scraper-keys"
COLUMNS = [("ID", "id"), ("LABEL", "label"), ("KEY", "maskedKey"), ("STATUS", "status"),
           ("IN FLIGHT", "inFlight"), ("MAX", "maxConcurrency"), ("CREDITS", "creditsLeft"),
           ("LAST USED", "lastUsed")]  # fmt: skip
Label = Annotated[str | None, typer.Option(help="a name for the key")]
MaxConcurrency = Annotated[
    int | None, typer.Option(min=1, max=1000, help="calls in flight at most")
]


@app.command("list")
def list_keys(ctx: typer.Context, limit: Limit = 0, as_json: AsJson = False) -> None:
    """The pool's keys, oldest first."""
    with connected(ctx) as api:
        found = list(api.pages("keys", PATH, limit=no_limit(limit)))
    show(found, as_json=as_json, columns=COLUMNS)


@app.command()
def add(
    ctx: typer.Context,
    key: Annotated[
        str,
        typer.Option(
            prompt="ScraperAPI key",
            hide_input=True,
            envvar="GIT44_SCRAPER_KEY",
            help="the key (asked for when not given)",
        ),
    ],
    label: Label = None,
    max_concurrency: MaxConcurrency = None,
    as_json: AsJson = False,
) -> None:
    """Add a key to the pool (stored encrypted; audited)."""
    body: dict[str, Any] = {"apiKey": key, "label": label, "maxConcurrency": max_concurrency}
    with connected(ctx) as api:
        added = api.request("keys", "POST", PATH, json=_given(body))
    show(added, as_json=as_json, columns=COLUMNS)


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _patch(ctx: typer.Context, key_id: str, change: dict[str, Any], as_json: bool) -> None:
    if not change:
        raise typer.BadParameter(
            "give at least one of --label, --max-concurrency, --enable/--disable"
        )
    with connected(ctx) as api:
        key = api.request("keys", "PATCH", f"{PATH}/{key_id}", json=change)
    show(key, as_json=as_json, columns=COLUMNS)


@app.command()
def disable(ctx: typer.Context, key_id: str, as_json: AsJson = False) -> None:
    """Disable a key: it is never leased until enabled again (audited)."""
    _patch(ctx, key_id, {"enabled": False}, as_json)


@app.command()
def enable(ctx: typer.Context, key_id: str, as_json: AsJson = False) -> None:
    """Make a disabled key active again (audited)."""
    _patch(ctx, key_id, {"enabled": True}, as_json)


@app.command()
def patch(
    ctx: typer.Context,
    key_id: str,
    label: Label = None,
    max_concurrency: MaxConcurrency = None,
    enabled: Annotated[
        bool | None, typer.Option("--enable/--disable", help="enable or disable the key")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change a key's label, concurrency or enabled state (audited)."""
    change = {"label": label, "maxConcurrency": max_concurrency, "enabled": enabled}
    _patch(ctx, key_id, _given(change), as_json)
