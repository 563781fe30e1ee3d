"""`git44ctl`: the command line, its global options, `login` and `logout`.

    git44ctl login                          # as an admin; the tokens are kept (0600)
    git44ctl dlq list                       # any command: a table, or --json
    git44ctl --url https://git44.example.com audit list --action dead_letter.replay

The API is reached through the gateway (`--url`, GIT44_URL), or each service directly
(GIT44_AUTH_URL, GIT44_JOBS_URL, GIT44_KEYS_URL: a stack without its gateway).
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from git44_ctl.client import Endpoints
from git44_ctl.commands import audit, dlq, jobs, keys, quota, users
from git44_ctl.context import Settings, connected

DEFAULT_URL = "http://127.0.0.1:8080"  # the gateway of `make run`

app = typer.Typer(
    name="git44ctl",
    help="Operate Git44 as an admin: users, quotas, keys, jobs, dead letters, the audit log.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(users.app, name="users")
app.add_typer(quota.app, name="quota")
app.add_typer(keys.app, name="keys")
app.add_typer(jobs.app, name="jobs")
app.add_typer(dlq.app, name="dlq")
app.add_typer(audit.app, name="audit")


@app.callback()
def configure(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(envvar="GIT44_URL", help="the gateway's URL")] = DEFAULT_URL,
    auth_url: Annotated[
        str | None, typer.Option(envvar="GIT44_AUTH_URL", help="auth's URL (no gateway)")
    ] = None,
    jobs_url: Annotated[
        str | None, typer.Option(envvar="GIT44_JOBS_URL", help="jobs-api's URL (no gateway)")
    ] = None,
    keys_url: Annotated[
        str | None, typer.Option(envvar="GIT44_KEYS_URL", help="key-manager's URL (no gateway)")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="GIT44CTL_TOKEN", help="an admin's access token instead of login"),
    ] = None,
) -> None:
    """Operate Git44 as an admin."""
    # a caller (a test) may hand in an httpx transport as the context's object
    transport = ctx.obj if isinstance(ctx.obj, httpx.BaseTransport) else None
    endpoints = Endpoints.of(url, auth=auth_url, jobs=jobs_url, keys=keys_url)
    ctx.obj = Settings(endpoints=endpoints, token=token, transport=transport)


@app.command()
def login(
    ctx: typer.Context,
    email: Annotated[str, typer.Option(envvar="GIT44_EMAIL", prompt=True)],
    password: Annotated[str, typer.Option(envvar="GIT44_PASSWORD", prompt=True, hide_input=True)],
) -> None:
    """Log in as an admin; the tokens are kept in ~/.config/git44ctl (mode 0600)."""
    with connected(ctx) as api:
        user = api.login(email, password)
        typer.echo(f"Logged in at {api.server} as {user['email']} ({user['id']}).")


@app.command()
def logout(ctx: typer.Context) -> None:
    """End the stored session and forget its tokens."""
    with connected(ctx) as api:
        ended = api.logout()
        typer.echo(f"Logged out of {api.server}." if ended else f"Not logged in at {api.server}.")


def main() -> None:
    """The `git44ctl` console script."""
    app()
