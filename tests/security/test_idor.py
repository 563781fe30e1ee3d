"""Another user's job, API key and live events: not found, not touched, not delivered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from localstack import LocalStack

from tests.security.actors import Account, register, submit

pytestmark = pytest.mark.e2e

DONE = {"success", "failed"}


@pytest.fixture(scope="module")
def owner(security_stack: LocalStack) -> Account:
    return register(security_stack)


@pytest.fixture(scope="module")
def intruder(security_stack: LocalStack) -> Account:
    return register(security_stack)


@pytest.fixture(scope="module")
def owners_job(security_stack: LocalStack, owner: Account) -> dict[str, Any]:
    return submit(security_stack, owner)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/removal/{id}"),
        ("POST", "/api/removal/{id}/retry"),
        ("POST", "/api/removal/{id}/cancel"),
    ],
)
def test_another_users_job_is_not_found(
    method: str,
    path: str,
    security_stack: LocalStack,
    intruder: Account,
    owners_job: dict[str, Any],
) -> None:
    url = f"{security_stack.url('jobs-api')}{path.format(id=owners_job['id'])}"
    response = httpx.request(method, url, headers=intruder.headers, timeout=30)
    assert response.status_code == 404, response.text
    assert owners_job["id"] not in response.text.replace(path.format(id=owners_job["id"]), "")


def test_another_users_job_is_not_found_on_the_dev_api(
    security_stack: LocalStack, intruder: Account, owners_job: dict[str, Any]
) -> None:
    url = f"{security_stack.url('jobs-api')}/api/v1/removals/{owners_job['id']}"
    response = httpx.get(url, headers={"X-API-Key": intruder.api_key}, timeout=30)
    assert response.status_code == 404


def test_the_intruders_lists_hold_none_of_the_owners_jobs(
    security_stack: LocalStack, intruder: Account, owners_job: dict[str, Any]
) -> None:
    base = security_stack.url("jobs-api")
    mine = httpx.get(f"{base}/api/removal/user/jobs", headers=intruder.headers).json()
    dev = httpx.get(f"{base}/api/v1/removals", headers={"X-API-Key": intruder.api_key}).json()
    assert [job["id"] for job in mine["data"] + dev["data"]] == []


def test_the_owners_job_was_not_cancelled(
    security_stack: LocalStack, owner: Account, owners_job: dict[str, Any]
) -> None:
    url = f"{security_stack.url('jobs-api')}/api/removal/{owners_job['id']}"
    assert httpx.get(url, headers=owner.headers).json()["status"] != "cancelled"


def test_another_users_api_key_cannot_be_deleted(
    security_stack: LocalStack, owner: Account, intruder: Account
) -> None:
    base = security_stack.url("auth")
    url = f"{base}/api/auth/api-keys/{owner.api_key_id}"
    assert httpx.delete(url, headers=intruder.headers).status_code == 404
    listed = httpx.get(f"{base}/api/auth/api-keys", headers=owner.headers).json()
    assert owner.api_key_id in [key["id"] for key in listed["data"]]
    quota = httpx.get(
        f"{security_stack.url('jobs-api')}/api/v1/quota", headers={"X-API-Key": owner.api_key}
    )
    assert quota.status_code == 200


async def job_ids_seen(
    client: httpx.AsyncClient, account: Account, ready: asyncio.Event, until_id: asyncio.Future[str]
) -> list[str]:
    """Job ids of the events `account`'s stream delivers until `until_id` is finished (by
    then the jobs submitted before it have moved too)."""
    seen: list[str] = []
    async with client.stream("GET", "/api/removal/events", headers=account.headers) as response:
        assert response.status_code == 200
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                if event == "ready":
                    ready.set()
            elif line.startswith("data:") and event == "job":
                job = json.loads(line.split(":", 1)[1])
                seen.append(job["id"])
                if until_id.done() and job["id"] == until_id.result() and job["status"] in DONE:
                    return seen
    return seen


async def test_the_event_stream_carries_only_the_subscribers_jobs(
    security_stack: LocalStack, owner: Account, intruder: Account
) -> None:
    async with httpx.AsyncClient(base_url=security_stack.url("jobs-api"), timeout=30) as client:
        ready = asyncio.Event()
        own_job: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(job_ids_seen(client, intruder, ready, own_job))
        await asyncio.wait_for(ready.wait(), 15)
        owners = [await asyncio.to_thread(submit, security_stack, owner) for _ in range(3)]
        own = await asyncio.to_thread(submit, security_stack, intruder)
        own_job.set_result(own["id"])
        seen = await asyncio.wait_for(reader, 60)
    assert own["id"] in seen  # the stream works...
    assert not {job["id"] for job in owners} & set(seen)  # ...and carries nothing else
