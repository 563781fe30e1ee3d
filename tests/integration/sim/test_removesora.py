"""RemoveSora: link validation, processing time, outcomes at the configured rate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from git44_sim.client import SimControl

SORA_LINK = "https://sora.chatgpt.com/p/s_68e0a1b2c3d4"


def tasks_url(sim: SimControl) -> str:
    return f"{sim.removesora_url}/api/v1/tasks"


async def create_tasks(http: httpx.AsyncClient, sim: SimControl, count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = await http.post(tasks_url(sim), json={"videoUrl": f"{SORA_LINK}{n}"})
        assert response.status_code == 200
        ids.append(response.json()["taskId"])
    return ids


async def test_task_processes_for_the_configured_time_then_succeeds(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.update_config(processing_seconds=(0.4, 0.4))
    created = await http.post(tasks_url(sim), json={"videoUrl": SORA_LINK})
    task_id = created.json()["taskId"]

    early = await http.get(f"{tasks_url(sim)}/{task_id}")
    (info,) = await sim.tasks()
    await asyncio.sleep(max(0.0, (info.ready_at - datetime.now(UTC)).total_seconds()) + 0.05)
    done = await http.get(f"{tasks_url(sim)}/{task_id}")

    assert early.json() == {"taskId": task_id, "status": "processing"}
    assert (info.ready_at - info.created_at).total_seconds() == pytest.approx(0.4)
    assert {k: v for k, v in done.json().items() if k != "downloadUrl"} == {
        "taskId": task_id,
        "status": "success",
    }
    link = httpx.URL(done.json()["downloadUrl"])
    assert str(link.copy_with(query=None)) == f"{sim.removesora_url}/files/{task_id}.mp4"
    expires = int(link.params["expires"])
    assert expires == pytest.approx(datetime.now(UTC).timestamp() + 3600, abs=5)
    video = await http.get(done.json()["downloadUrl"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert b"ftyp" in video.content
    (info,) = await sim.tasks()
    assert (info.polls, info.status, info.outcome) == (2, "success", "success")


async def test_video_is_not_downloadable_before_the_task_succeeds(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.update_config(processing_seconds=(5, 5))
    (task_id,) = await create_tasks(http, sim, 1)

    # no link is issued before success: an unsigned one is refused
    assert (await http.get(f"{sim.removesora_url}/files/{task_id}.mp4")).status_code == 403
    assert (await http.get(f"{tasks_url(sim)}/unknown")).status_code == 404


async def test_a_download_link_works_until_it_expires_and_only_as_signed(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.update_config(processing_seconds=(0, 0), download_link_ttl_seconds=1.5)
    (task_id,) = await create_tasks(http, sim, 1)
    link = httpx.URL((await http.get(f"{tasks_url(sim)}/{task_id}")).json()["downloadUrl"])

    assert (await http.get(link)).status_code == 200
    forged = link.copy_set_param("expires", str(int(link.params["expires"]) + 3600))
    assert (await http.get(forged)).status_code == 403
    await asyncio.sleep(2.1)
    expired = await http.get(link)
    assert (expired.status_code, expired.json()["code"]) == (403, "link_expired")


@pytest.mark.parametrize(("rate", "expected"), [(1.0, "failed"), (0.0, "success")])
async def test_failure_rate_extremes(
    sim: SimControl, http: httpx.AsyncClient, rate: float, expected: str
) -> None:
    await sim.update_config(task_failure_rate=rate, processing_seconds=(0, 0))

    ids = await create_tasks(http, sim, 10)
    views = [(await http.get(f"{tasks_url(sim)}/{task_id}")).json() for task_id in ids]

    assert {view["status"] for view in views} == {expected}
    if expected == "failed":
        assert all(view["error"] and "downloadUrl" not in view for view in views)


async def test_seeded_failure_rate_is_near_the_configured_rate_and_repeatable(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    async def outcomes() -> list[str]:
        await sim.reset(seed=1234)
        await sim.update_config(task_failure_rate=0.5, processing_seconds=(0, 0))
        await create_tasks(http, sim, 200)
        return [task.outcome for task in await sim.tasks()]

    first = await outcomes()
    second = await outcomes()

    failed_fraction = first.count("failed") / len(first)
    assert 0.35 <= failed_fraction <= 0.65
    assert first == second


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"videoUrl": ""},
        {"videoUrl": 123},
        {"videoUrl": "http://sora.chatgpt.com/p/s_abc"},
        {"videoUrl": "https://example.com/p/s_abc"},
        {"videoUrl": "https://sora.chatgpt.com.evil.test/p/s_abc"},
        {"videoUrl": "https://user@sora.chatgpt.com/p/s_abc"},
        {"videoUrl": "https://sora.chatgpt.com:8443/p/s_abc"},
        {"videoUrl": "https://sora.chatgpt.com/explore"},
        ["https://sora.chatgpt.com/p/s_abc"],
    ],
)
async def test_non_sora_links_are_422(
    sim: SimControl, http: httpx.AsyncClient, body: object
) -> None:
    response = await http.post(tasks_url(sim), json=body)

    assert response.status_code == 422
    assert response.json()["error"]
    assert (await sim.stats()).tasks_created == 0


async def test_body_that_is_not_json_is_422(sim: SimControl, http: httpx.AsyncClient) -> None:
    response = await http.post(tasks_url(sim), content=b"videoUrl=x")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_body"
