"""The simulator's ASGI app: ScraperAPI at `/`, RemoveSora at `/removesora`, a second
provider at `/kie`, `/_control`,
and, when given a port, the SMTP sink (`smtp.py`) on the same event loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from fastapi import FastAPI

from git44_sim import control, kie, removesora, scraperapi
from git44_sim.smtp import start_smtp_sink, stop_smtp_sink
from git44_sim.state import SimState

log = logging.getLogger(__name__)

# Benchmarks push many requests at once through the proxy into this same server. Idle
# connections expire well before the server's keep-alive timeout (SERVER_KEEP_ALIVE_S),
# so a forward never reuses a connection the server is closing (a spurious ReadError).
FORWARD_LIMITS = httpx.Limits(
    max_connections=1000, max_keepalive_connections=200, keepalive_expiry=2.0
)
SERVER_KEEP_ALIVE_S = 30


def create_app(
    state: SimState, *, smtp_port: int | None = None, smtp_host: str = "127.0.0.1"
) -> FastAPI:
    """An app serving `state`; the forwarding client, and the SMTP sink on `smtp_port`
    (none when None), live as long as the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # trust_env=False: a developer's HTTP(S)_PROXY must not divert forwards to localhost.
            http = httpx.AsyncClient(limits=FORWARD_LIMITS, trust_env=False, follow_redirects=True)
            stack.push_async_callback(http.aclose)
            app.state.http = http
            if smtp_port is not None:
                await _open_smtp_sink(stack, state, host=smtp_host, port=smtp_port)
            yield

    app = FastAPI(
        title="Git44 simulator (ScraperAPI + RemoveSora)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.sim = state
    app.include_router(control.router)
    app.include_router(removesora.router)
    app.include_router(kie.router)
    app.include_router(scraperapi.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    return app


async def _open_smtp_sink(stack: AsyncExitStack, state: SimState, *, host: str, port: int) -> None:
    # A port already taken (another sink, a Mailpit) leaves the simulator without one:
    # ScraperAPI and RemoveSora are what it is for.
    try:
        server = await start_smtp_sink(state.mailbox, host=host, port=port)
    except OSError as exc:
        log.warning("SMTP sink not started on %s:%d: %s", host, port, exc.strerror)
        return
    stack.push_async_callback(stop_smtp_sink, server)
    log.info("SMTP sink listening on %s:%d (GET /_control/mail)", host, port)
