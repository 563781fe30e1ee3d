"""`git44ctl jobs`: inspect and retry any user's removal jobs (jobs-api's admin API)."""

from __future__ import annotations

from typing import Annotated

import typer

from git44_ctl.context import AsJson, Limit, connected, no_limit
from git44_ctl.output import show, show_record

app = typer.Typer(help="Removal jobs: list, show, retry.", no_args_is_help=True)

COLUMNS = [("ID", "id"), ("USER", "userId"), ("STATUS", "status"), ("RETRIES", "retryCount"),
           ("ERROR", "error"), ("CREATED", "createdAt")]  # fmt: skip


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="queued, processing, ..., failed")] = None,
    user: Annotated[str | None, typer.Option(help="a user id")] = None,
    limit: Limit = 50,
    as_json: AsJson = False,
) -> None:
    """Every user's jobs, newest first."""
    params = {"status": status, "userId": user}
    with connected(ctx) as api:
        found = list(api.pages("jobs", "/api/admin/jobs", params=params, limit=no_limit(limit)))
    show(found, as_json=as_json, columns=COLUMNS)


@app.command("show")
def show_job(ctx: typer.Context, job_id: str, as_json: AsJson = False) -> None:
    """One job, every field."""
    with connected(ctx) as api:
        job = api.request("jobs", "GET", f"/api/admin/jobs/{job_id}")
    show_record(job, as_json=as_json)


@app.command()
def retry(ctx: typer.Context, job_id: str, as_json: AsJson = False) -> None:
    """Queue a failed job again, free of charge for its owner (audited)."""
    with connected(ctx) as api:
        job = api.request("jobs", "POST", f"/api/admin/jobs/{job_id}/retry")
    show(job, as_json=as_json, columns=COLUMNS)
