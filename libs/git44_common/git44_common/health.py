"""`/healthz`, `/readyz` and `/metrics`, served by every service.

Readiness checks are looked up when `/readyz` is called, so a service registers them in
its lifespan, once its clients exist:

    app.include_router(build_health_router())            # reads app.state.readiness
    ...
    register_readiness_check(app, "mongo", lambda: ping_mongo(client))

A check is an async callable that returns when the dependency answers and raises when
it does not. Check failures are logged; the response only says ok/failed/timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.responses import Response

from git44_common.metrics import metrics_endpoint

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[None]]
ReadinessChecks = Mapping[str, ReadinessCheck]
CheckResult = Literal["ok", "failed", "timeout"]


class HealthStatus(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckResult]


def readiness_checks(app: FastAPI) -> dict[str, ReadinessCheck]:
    """The mutable registry `app.state.readiness` (created empty on first use)."""
    checks: dict[str, ReadinessCheck] | None = getattr(app.state, "readiness", None)
    if checks is None:
        checks = {}
        app.state.readiness = checks
    return checks


def register_readiness_check(app: FastAPI, name: str, check: ReadinessCheck) -> None:
    """Make `/readyz` of `app` run `check` under `name`."""
    readiness_checks(app)[name] = check


async def _run_check(name: str, check: ReadinessCheck, seconds: float) -> CheckResult:
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        log.warning("readiness check timed out", extra={"check": name, "timeout_seconds": seconds})
        return "timeout"
    except Exception:
        log.warning("readiness check failed", extra={"check": name}, exc_info=True)
        return "failed"
    return "ok"


async def run_readiness_checks(checks: ReadinessChecks, *, seconds: float = 2.0) -> Readiness:
    """Run every check concurrently, each bounded by `seconds`."""
    names = list(checks)
    results = await asyncio.gather(*(_run_check(n, checks[n], seconds) for n in names))
    outcome = dict(zip(names, results, strict=True))
    ready = all(result == "ok" for result in results)
    return Readiness(status="ready" if ready else "unavailable", checks=outcome)


def build_health_router(
    checks: ReadinessChecks | Callable[[], ReadinessChecks] | None = None,
    *,
    timeout: float = 2.0,
) -> APIRouter:
    """Router with `/healthz`, `/readyz` and `/metrics`.

    `checks` is a mapping (read at each request, so it may be filled later), a callable
    returning one, or None to use `app.state.readiness` of the serving app.
    """
    router = APIRouter(tags=["health"])

    def current_checks(request: Request) -> ReadinessChecks:
        if checks is None:
            return dict(readiness_checks(request.app))
        return checks if isinstance(checks, Mapping) else checks()

    @router.get("/healthz", response_model=HealthStatus)
    async def healthz() -> HealthStatus:
        """The process is alive."""
        return HealthStatus()

    @router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
    async def readyz(request: Request) -> JSONResponse:
        """Every dependency answers (200), or not (503)."""
        readiness = await run_readiness_checks(current_checks(request), seconds=timeout)
        status_code = 200 if readiness.status == "ready" else 503
        return JSONResponse(readiness.model_dump(), status_code=status_code)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this process."""
        return metrics_endpoint()

    return router
