"""FastAPI dependencies: the simulator state and the forwarding HTTP client."""

from __future__ import annotations

from typing import Annotated, cast

import httpx
from fastapi import Depends, Request

from git44_sim.state import SimState


async def get_state(request: Request) -> SimState:
    return cast(SimState, request.app.state.sim)


async def get_http(request: Request) -> httpx.AsyncClient:
    return cast(httpx.AsyncClient, request.app.state.http)


State = Annotated[SimState, Depends(get_state)]
Http = Annotated[httpx.AsyncClient, Depends(get_http)]
