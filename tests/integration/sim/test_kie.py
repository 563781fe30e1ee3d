"""The simulator's second provider (`/kie`, kie.ai-style task API): its keys, task
states, results, injected failures, and callbacks sent to a receiver in this test (or
withheld)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from git44_sim.client import SimControl
from tests.utils.receiver import serving_receiver
from tests.utils.waiting import eventually

LINK = "https://sora.chatgpt.com/p/s_kie"
KEY = {"Authorization": "Bearer kie-demo-key-1"}


def jobs_url(sim: SimControl) -> str:
    return f"{sim.base_url}/kie/api/v1/jobs"


async def create(http: httpx.AsyncClient, sim: SimControl, **body: object) -> httpx.Response:
    payload = {"model": "sora-watermark-remover", "input": {"video_url": LINK}, **body}
    return await http.post(f"{jobs_url(sim)}/createTask", json=payload, headers=KEY)


async def test_a_task_goes_from_waiting_to_success_with_a_downloadable_result(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.update_config(processing_seconds=(0.6, 0.6))
    created = await create(http, sim)
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["taskId"]
    states = []
    deadline = time.monotonic() + 5
    while True:
        info = await http.get(
            f"{jobs_url(sim)}/recordInfo", params={"taskId": task_id}, headers=KEY
        )
        data = info.json()["data"]
        if not states or states[-1] != data["state"]:
            states.append(data["state"])
        if data["state"] in ("success", "fail") or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.03)
    assert states[0] == "waiting"
    assert states[-1] == "success"
    assert set(states) <= {"waiting", "queuing", "generating", "success"}
    [link] = json.loads(data["resultJson"])["resultUrls"]
    video = await http.get(link)
    assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")
    stats = await sim.stats()
    assert (stats.kie_tasks_created, stats.kie_polls >= 2) == (1, True)
    assert [t.video_url for t in await sim.tasks()] == [LINK]


async def test_keys_bodies_and_outages_are_answered_in_the_providers_envelope(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    url = f"{jobs_url(sim)}/createTask"
    body = {"input": {"video_url": LINK}}
    for headers in ({}, {"Authorization": "Bearer nope"}):
        refused = await http.post(url, json=body, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (401, 401)
    bad = await http.post(url, json={"input": {"video_url": "https://evil.example/x"}}, headers=KEY)
    assert (bad.status_code, bad.json()["code"]) == (422, 422)
    missing = await http.get(f"{jobs_url(sim)}/recordInfo", params={"taskId": "x"}, headers=KEY)
    assert missing.status_code == 404
    await sim.update_config(kie_failure_rate=1.0)
    down = await create(http, sim)
    assert (down.status_code, down.json()["code"]) == (500, 500)
    stats = await sim.stats()
    assert stats.kie_served_by_status == {"401": 2, "422": 1, "404": 1, "500": 1}


async def test_a_callback_is_sent_when_the_task_ends_unless_withheld(
    sim: SimControl, http: httpx.AsyncClient
) -> None:
    await sim.update_config(processing_seconds=(0.3, 0.3))
    async with serving_receiver("/kie/callback") as hooks:
        created = await create(http, sim, callBackUrl=hooks.url)
        task_id = created.json()["data"]["taskId"]

        async def called_back() -> bool:
            return bool(hooks.received)

        await eventually(called_back, within=5)
        [(_, raw)] = hooks.received
        body = json.loads(raw)
        assert (body["code"], body["data"]["taskId"], body["data"]["state"]) == (
            200,
            task_id,
            "success",
        )
        await sim.update_config(kie_callbacks=False)
        await create(http, sim, callBackUrl=hooks.url)
        await asyncio.sleep(0.8)
        assert len(hooks.received) == 1
    assert (await sim.stats()).kie_callbacks_sent == 1
