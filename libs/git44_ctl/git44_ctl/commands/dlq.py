"""`git44ctl dlq`: the removal queue's dead letters — list, replay, purge (jobs-api).

Listing takes the letters over from `git44.removal.dead` into jobs-api's store, where
they wait until replayed or purged (docs/operations.md, "git44ctl")."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from git44_ctl.client import MAX_PAGE, Api
from git44_ctl.context import AsJson, Limit, connected, no_limit
from git44_ctl.output import show

app = typer.Typer(help="Dead letters of the removal queue: list, replay, purge.",
                  no_args_is_help=True)  # fmt: skip

PATH = "/api/admin/dead-letters"
COLUMNS = [("ID", "id"), ("JOB", "jobId"), ("REASON", "reason"), ("DEATHS", "deathCount"),
           ("DEAD AT", "deadAt"), ("FROM", "sourceQueue")]  # fmt: skip
OUTCOME_COLUMNS = [("ID", "id"), ("JOB", "jobId"), ("REPLAYED", "replayed"),
                   ("STATUS", "status"), ("DETAIL", "detail")]  # fmt: skip
LetterId = Annotated[str | None, typer.Argument(help="a letter's id (see `dlq list`)")]
All = Annotated[bool, typer.Option("--all", help="every letter")]


def _one_or_all(letter_id: str | None, every: bool) -> None:
    if (letter_id is None) == (not every):
        raise typer.BadParameter("give a letter id or --all (not both)")


@app.command("list")
def list_letters(
    ctx: typer.Context,
    job: Annotated[str | None, typer.Option(help="only this job's letters")] = None,
    limit: Limit = 100,
    as_json: AsJson = False,
) -> None:
    """The dead letters, oldest first."""
    with connected(ctx) as api:
        found = list(api.pages("jobs", PATH, params={"jobId": job}, limit=no_limit(limit)))
    show(found, as_json=as_json, columns=COLUMNS)


def _replay_all(api: Api) -> list[dict[str, Any]]:
    outcomes: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": MAX_PAGE}
    while True:
        page = api.request("jobs", "POST", f"{PATH}/replay", params=params)
        outcomes += page["data"]
        if not page.get("nextCursor"):
            return outcomes
        params["cursor"] = page["nextCursor"]


@app.command()
def replay(
    ctx: typer.Context, letter_id: LetterId = None, every: All = False, as_json: AsJson = False
) -> None:
    """Send letters' jobs back to the worker (a failed job is queued again, free); a
    letter that cannot be replayed is kept and says why (audited)."""
    _one_or_all(letter_id, every)
    with connected(ctx) as api:
        if letter_id is not None:
            outcomes = [api.request("jobs", "POST", f"{PATH}/{letter_id}/replay")]
        else:
            outcomes = _replay_all(api)
    show(outcomes, as_json=as_json, columns=OUTCOME_COLUMNS)
    if not as_json:
        replayed = sum(1 for outcome in outcomes if outcome["replayed"])
        typer.echo(f"replayed {replayed}, kept {len(outcomes) - replayed}")


@app.command()
def purge(
    ctx: typer.Context,
    letter_id: LetterId = None,
    every: All = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    as_json: AsJson = False,
) -> None:
    """Forget letters for good (audited)."""
    _one_or_all(letter_id, every)
    if every and not yes:
        typer.confirm("Forget every dead letter of the removal queue?", abort=True)
    with connected(ctx) as api:
        path = PATH if letter_id is None else f"{PATH}/{letter_id}"
        result = api.request("jobs", "DELETE", path)
    show(result, as_json=as_json, columns=[("PURGED", "purged")])
