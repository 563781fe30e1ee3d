"""Each key's ScraperAPI plan, read from the simulator's `GET /account` (key-manager
`plans.py`): a key near the end of its credits is limited before it gets a 403, the
plan's concurrency caps the admin's, an unknown key is disabled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from git44_common.collections import KEY_EVENTS, SCRAPER_KEYS
from git44_common.mongo import Database
from git44_sim.client import SimControl
from tests.integration.keys.conftest import SEED, StartKeyManager
from tests.utils.sim import running_sim
from tests.utils.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_sim(SEED, log_dir=tmp_path_factory.mktemp("sim")) as url:
        yield url


@pytest.fixture
async def sim(sim_url: str) -> AsyncIterator[SimControl]:
    async with SimControl(sim_url) as control:
        await control.reset(keys=list(SEED))
        yield control


async def test_a_key_near_the_end_of_its_credits_is_limited_before_a_403(
    start_key_manager: StartKeyManager, sim_url: str, sim: SimControl
) -> None:
    """/account says the key has 10 credits left (reserve 20): limited at the next
    check, before any call could get a 403; its plan's concurrency (2) caps the
    admin's (5)."""
    await sim.put_key(SEED[0], request_limit=10, concurrency_limit=2)
    context = await start_key_manager(
        scraperapi_url=f"{sim_url}/", account_check_seconds=1, credit_reserve=20
    )
    db = context.db

    async def limited() -> dict[str, Any] | None:
        doc = await db[SCRAPER_KEYS].find_one({"status": "limited"})
        return doc if doc is not None and doc.get("plan") else None

    doc = await eventually(limited, within=15)
    assert (doc["plan"]["request_limit"], doc["plan"]["concurrency_limit"]) == (10, 2)
    event = await db[KEY_EVENTS].find_one({"key_id": doc["_id"], "event": "limited"})
    assert event is not None
    assert "credits left" in event["reason"]
    assert (await sim.stats()).served_403 == 0

    await eventually(lambda: planned(db), within=15)
    await context.pool.refresh_keys()
    plans = {d["_id"]: int(d["plan"]["concurrency_limit"]) async for d in db[SCRAPER_KEYS].find()}
    assert {k: v.max_concurrency for k, v in context.pool._keys.items()} == {
        key_id: min(5, limit) for key_id, limit in plans.items()
    }


async def test_a_key_scraperapi_does_not_know_is_disabled_by_the_check(
    start_key_manager: StartKeyManager, sim_url: str, sim: SimControl
) -> None:
    await sim.delete_key(SEED[2])
    context = await start_key_manager(scraperapi_url=f"{sim_url}/", account_check_seconds=1)

    async def disabled() -> bool:
        return await context.db[SCRAPER_KEYS].count_documents({"status": "disabled"}) == 1

    async def announced() -> bool:  # the event is written after the key's status
        return await context.db[KEY_EVENTS].count_documents({"event": "disabled"}) >= 1

    await eventually(disabled, within=15)
    await eventually(announced, within=5)
    assert await context.db[KEY_EVENTS].count_documents({"event": "disabled"}) == 1  # once


async def planned(db: Database) -> bool:
    return await db[SCRAPER_KEYS].count_documents({"plan": {"$exists": True}}) == len(SEED)
