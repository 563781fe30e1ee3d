"""Provider A down, jobs complete on provider B (issue 16; ADR 0013).

The worker is given two providers, RemoveSora through ScraperAPI first and the
simulator's kie-style `/kie` second. ScraperAPI then fails every call for a minute
under a steady load: its circuit opens and new tasks go to kie, so jobs keep
completing during the outage; none fails, none is lost, none is charged twice. When
ScraperAPI is back, new tasks go to RemoveSora again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from git44_sim.client import SimControl
from tests.chaos.harness import Load, audit, chaos_stack, database, record, wait_terminal

pytestmark = pytest.mark.chaos

OUTAGE_SECONDS = 60
ENV = {"WORKER_PROVIDERS": "removesora,kie"}


@pytest.mark.timeout(480)
async def test_with_provider_a_down_jobs_complete_on_provider_b(
    tmp_path: Path, amqp_url: str, mongo_url: str
) -> None:
    started = time.monotonic()
    with chaos_stack(tmp_path, amqp_url=amqp_url, mongo_url=mongo_url, extra_env=ENV) as stack:
        async with (
            httpx.AsyncClient(timeout=30, trust_env=False) as http,
            database(stack) as db,
            SimControl(stack.url("sim")) as sim,
        ):
            load = await Load.register(stack, http, every=0.5)
            load.start()
            await asyncio.sleep(5)
            await sim.update_config(proxy_failure_rate=1.0)
            outage_started = time.monotonic()
            await asyncio.sleep(OUTAGE_SECONDS)
            # completed during the outage, at kie
            during = await db["removal_jobs"].count_documents(
                {"user_id": load.user_id, "status": "success", "provider": "kie"}
            )
            await sim.update_config(proxy_failure_rate=0.0)
            outage_seconds = time.monotonic() - outage_started
            await asyncio.sleep(25)  # the circuit's probe closes it; back to removesora
            await load.stop()
            await wait_terminal(db, load.accepted, within=180)
            result = await audit(stack, db, load)
            by_provider: dict[str, int] = {}
            for doc in result.jobs.values():
                name = str(doc.get("provider"))
                by_provider[name] = by_provider.get(name, 0) + 1
            last = max(result.jobs.values(), key=lambda d: d["created_at"])

    notes = (
        f"ScraperAPI down {outage_seconds:.0f}s; {during} jobs completed at kie during it; "
        f"tasks by provider {by_provider}"
    )
    record(result.row("provider A down", 1, load, time.monotonic() - started, notes))
    assert during >= OUTAGE_SECONDS, notes  # about one a second, at kie, while A was down
    assert by_provider.get("removesora", 0) > 0, notes
    assert last.get("provider") == "removesora", notes  # back to the first once it healed
    assert load.refused == {}
    assert result.lost == [], {j: result.jobs.get(j, {}).get("status") for j in result.lost}
    assert result.statuses.get("failed", 0) == 0, result.statuses
    assert result.charged == result.reserved, (result.charged, result.reserved)
    assert result.second_tasks == []
