"""Circuit breakers on the upstreams (ScraperAPI, RemoveSora): the shared state every
worker reads and the key-manager's admin summary shows.

One document per upstream in `upstream_circuits` (the worker writes it):

    {_id: "scraperapi" | "removesora", state: "closed" | "open",
     opened_at, reason, next_probe_at, probe_seconds,      # while open
     probe_by, probe_until,                                # the probe in flight, if any
     opened_count, updated_at}

Closed: calls go out. Open: no call goes out; jobs wait (no retry, poll or credit spent)
until a probe — one call at a time, every `probe_seconds`, growing from
WORKER_BREAKER_PROBE_SECONDS to WORKER_BREAKER_PROBE_MAX_SECONDS — gets an answer, which
closes the circuit and wakes the waiting jobs in the order they were submitted. While a
probe is in flight the circuit is "half-open".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from git44_common.clock import as_utc


class Upstream(StrEnum):
    SCRAPERAPI = "scraperapi"
    REMOVESORA = "removesora"
    KIE = "kie"  # the second provider (worker adapters/kie.py)


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"  # open, with a probe in flight


def circuit_state(doc: Mapping[str, Any] | None, *, now: datetime) -> CircuitState:
    """The circuit's state as `doc` says it now (no document: closed)."""
    if doc is None or doc.get("state") != CircuitState.OPEN:
        return CircuitState.CLOSED
    probe_until = doc.get("probe_until")
    if probe_until is not None and as_utc(probe_until) > now:
        return CircuitState.HALF_OPEN
    return CircuitState.OPEN
