"""The control plane through `SimControl`, and the command line's env defaults."""

from __future__ import annotations

import httpx
import pytest

from git44_sim.cli import parse_options
from git44_sim.client import SimControl
from tests.integration.sim.startup import KEYS, START_CONCURRENCY, START_CREDITS

SORA_LINK = "https://sora.chatgpt.com/p/s_68e0a1b2c3d4"


async def test_keys_are_created_updated_and_deleted(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    target = f"{sim.base_url}/healthz"

    created = await sim.put_key("fresh-key")
    updated = await sim.put_key("fresh-key", request_limit=7)
    served = await http.get(sim.proxy_url("fresh-key", target))
    listed = {key.api_key: key for key in await sim.list_keys()}
    deleted = await sim.delete_key("fresh-key")
    refused = await http.get(sim.proxy_url("fresh-key", target))

    assert (created.request_limit, created.concurrency_limit) == (START_CREDITS, START_CONCURRENCY)
    assert updated.request_limit == 7
    assert served.status_code == 200
    assert set(listed) == {*KEYS, "fresh-key"}
    assert listed["fresh-key"].request_count == 1
    assert deleted is True
    assert refused.status_code == 401
    assert await sim.delete_key("fresh-key") is False


async def test_config_update_is_partial(sim: SimControl) -> None:
    before = await sim.get_config()

    after = await sim.update_config(removesora_latency_ms=5, processing_seconds=(0.1, 0.3))

    assert after.removesora_latency_ms == 5
    assert (after.processing_seconds.min, after.processing_seconds.max) == (0.1, 0.3)
    unchanged = {"removesora_latency_ms", "processing_seconds"}
    assert after.model_dump(exclude=unchanged) == before.model_dump(exclude=unchanged)
    assert await sim.get_config() == after


async def test_invalid_config_is_refused(sim: SimControl) -> None:
    with pytest.raises(httpx.HTTPStatusError) as raised:
        await sim.update_config(processing_seconds=(2, 1))
    assert raised.value.response.status_code == 422

    with pytest.raises(httpx.HTTPStatusError):
        await sim.update_config(task_failure_rate=1.5)


async def test_reset_clears_counters_and_restores_the_start_up_state(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.put_key(KEYS[0], request_limit=3)
    await sim.update_config(task_failure_rate=1.0)
    tasks_url = f"{sim.removesora_url}/api/v1/tasks"
    await http.post(sim.proxy_url(KEYS[0], tasks_url), json={"videoUrl": SORA_LINK})

    await sim.reset()

    account = await sim.account(KEYS[0])
    assert account is not None
    assert (account.request_count, account.request_limit) == (0, START_CREDITS)
    assert (await sim.get_config()).task_failure_rate == 0.0
    assert await sim.tasks() == []
    stats = await sim.stats()
    assert (stats.tasks_created, stats.requests_by_key, stats.served_by_status) == (0, {}, {})


async def test_reset_can_replace_the_keys(sim: SimControl) -> None:
    await sim.update_config(proxy_latency_ms=10)

    await sim.reset(keys=["only-key"], request_limit=3, concurrency_limit=1, keep_config=True)

    (only,) = await sim.list_keys()
    assert (only.api_key, only.request_limit, only.concurrency_limit) == ("only-key", 3, 1)
    assert await sim.account(KEYS[0]) is None
    assert (await sim.get_config()).proxy_latency_ms == 10


def test_command_line_takes_defaults_from_env() -> None:
    env = {"SIM_PORT": "9999", "SIM_KEYS": "a, b", "SIM_PROCESSING_SECONDS": "0.5-1.5"}

    from_env = parse_options([], env)
    overridden = parse_options(["--port", "1234", "--processing-seconds", "2"], env)

    assert (from_env.port, from_env.keys) == (9999, ["a", "b"])
    assert (from_env.config.processing_min_s, from_env.config.processing_max_s) == (0.5, 1.5)
    assert overridden.port == 1234
    assert (overridden.config.processing_min_s, overridden.config.processing_max_s) == (2, 2)
    with pytest.raises(SystemExit):
        parse_options(["--processing-seconds", "8-3"], {})
