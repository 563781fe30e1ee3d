"""A webhook receiver for tests: a real HTTP(S) server on 127.0.0.1 that records each
request and answers with scripted statuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.utils.processes import free_port


@dataclass
class Receiver:
    url: str
    port: int
    statuses: list[int] = field(default_factory=list)  # answers, in order; then `otherwise`
    otherwise: int = 204
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else self.otherwise)


@asynccontextmanager
async def serving_receiver(
    path: str = "/hook",
    *,
    statuses: Sequence[int] = (),
    otherwise: int = 204,
    tls: tuple[Path, Path] | None = None,
) -> AsyncIterator[Receiver]:
    """A receiver at `path`; `tls` = (certificate, key) PEM files serves https."""
    port = free_port()
    scheme = "https" if tls else "http"
    hooks = Receiver(f"{scheme}://127.0.0.1:{port}{path}", port, list(statuses), otherwise)
    app = Starlette(routes=[Route(path, hooks.endpoint, methods=["POST"])])
    certfile, keyfile = tls if tls else (None, None)
    config = uvicorn.Config(
        app,
        port=port,
        log_level="warning",
        lifespan="off",
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
            if task.done():
                raise RuntimeError(f"the webhook receiver did not start: {task.exception()!r}")
            await asyncio.sleep(0.02)
        yield hooks
    finally:
        server.should_exit = True
        await task
