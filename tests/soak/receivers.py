"""The webhook receivers of the soak: one HTTP server in the soak's own process (never
killed) for a job's `callbackUrl` and a registered endpoint; `dark` answers 503."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.utils.processes import free_port


@dataclass
class Receivers:
    """One HTTP server for both webhook paths; `dark` answers 503 to everything."""

    port: int = field(default_factory=free_port)
    dark: bool = False
    delivered: list[dict[str, Any]] = field(default_factory=list)  # bodies answered 2xx
    refused: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        if self.dark:
            self.refused += 1
            return Response(status_code=503)
        with contextlib.suppress(ValueError):
            event = json.loads(body)
            event["_path"] = request.url.path
            event["_webhook_id"] = request.headers.get("webhook-id")
            self.delivered.append(event)
        return Response(status_code=204)

    async def serve(self) -> uvicorn.Server:
        routes = [Route(p, self.endpoint, methods=["POST"]) for p in ("/callback", "/endpoint")]
        config = uvicorn.Config(
            Starlette(routes=routes), port=self.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        asyncio.get_running_loop().create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no started event
            await asyncio.sleep(0.05)
        return server
