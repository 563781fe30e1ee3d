"""The simulator's ASGI app: ScraperAPI at `/`, RemoveSora at `/removesora`, `/_control`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from git44_sim import control, removesora, scraperapi
from git44_sim.state import SimState

# Benchmarks push many requests at once through the proxy into this same server. Idle
# connections expire well before the server's keep-alive timeout (SERVER_KEEP_ALIVE_S),
# so a forward never reuses a connection the server is closing (a spurious ReadError).
FORWARD_LIMITS = httpx.Limits(
    max_connections=1000, max_keepalive_connections=200, keepalive_expiry=2.0
)
SERVER_KEEP_ALIVE_S = 30


def create_app(state: SimState) -> FastAPI:
    """An app serving `state`; the forwarding client lives as long as the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # trust_env=False: a developer's HTTP(S)_PROXY must not divert forwards to localhost.
        http = httpx.AsyncClient(limits=FORWARD_LIMITS, trust_env=False, follow_redirects=True)
        app.state.http = http
        try:
            yield
        finally:
            await http.aclose()

    app = FastAPI(
        title="Git44 simulator (ScraperAPI + RemoveSora)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.sim = state
    app.include_router(control.router)
    app.include_router(removesora.router)
    app.include_router(scraperapi.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app
