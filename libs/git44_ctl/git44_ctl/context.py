"""What every command shares: the global settings, the API session, common options."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

import httpx
import typer

from git44_ctl.client import Api, Endpoints
from git44_ctl.credentials import CredentialStore, default_path
from git44_ctl.exceptions import CtlError

AsJson = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
Limit = Annotated[
    int, typer.Option("--limit", "-n", min=0, help="at most this many (0: all); pages followed")
]


@dataclass(frozen=True)
class Settings:
    """The global options (`git44ctl --url ...`), kept as the context's object."""

    endpoints: Endpoints
    token: str | None
    transport: httpx.BaseTransport | None = None


@contextmanager
def connected(ctx: typer.Context) -> Iterator[Api]:
    """The API as the logged-in admin; an error ends the command with its message on
    stderr and a non-zero exit code."""
    settings: Settings = ctx.find_root().obj
    store = CredentialStore(default_path())
    api = Api(settings.endpoints, store=store, token=settings.token, transport=settings.transport)
    try:
        yield api
    except CtlError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    finally:
        api.close()


def no_limit(limit: int) -> int | None:
    """`--limit 0` means every item."""
    return limit or None
