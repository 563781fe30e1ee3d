"""Debian's nginx, on the rendered gateway config, in front of the real services: a user
registers, opens the live event stream, submits a link and watches the job finish —
every request through the gateway's single origin."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from gateway import Gateway
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD

pytestmark = pytest.mark.e2e


@dataclass
class Event:
    event: str = "message"
    id: str | None = None
    data: list[str] = field(default_factory=list)

    def json(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads("\n".join(self.data))
        return parsed


async def sse_events(response: httpx.Response) -> AsyncIterator[Event]:
    """Server-Sent Events of a streamed response (comments and pings skipped)."""
    current = Event()
    async for line in response.aiter_lines():
        if not line:
            if current.data:
                yield current
            current = Event()
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                current.event = value
            elif name == "id":
                current.id = value
            elif name == "data":
                current.data.append(value)


async def register(http: httpx.AsyncClient) -> str:
    password = "correct horse battery"
    body = {
        "email": f"gw-{uuid.uuid4().hex[:8]}@example.com",
        "password": password,
        "confirmPassword": password,
    }
    response = await http.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["accessToken"])


async def test_register_submit_and_watch_the_job_finish_through_the_gateway(
    stack_gateway: Gateway,
) -> None:
    async with httpx.AsyncClient(base_url=stack_gateway.url, trust_env=False, timeout=15) as http:
        token = await register(http)
        auth = {"Authorization": f"Bearer {token}"}
        async with (
            asyncio.timeout(60),
            http.stream("GET", "/api/removal/events", headers=auth) as stream,
        ):
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream)
            assert (await anext(events)).event == "ready"

            link = f"https://sora.chatgpt.com/p/s_{uuid.uuid4().hex[:12]}"
            submitted = await http.post("/api/removal", json={"inputLink": link}, headers=auth)
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]

            seen: list[str] = []
            async for event in events:
                job = event.json()
                if event.event != "job" or job.get("id") != job_id:
                    continue
                seen.append(str(job["status"]))
                if job["status"] in ("success", "failed"):
                    break
        assert seen[-1] == "success", seen
        assert job["outputLink"]
        assert event.id is not None
        assert event.id.startswith(f"{job_id}:")

        final = await http.get(f"/api/removal/{job_id}", headers=auth)
        assert final.status_code == 200
        assert final.json()["status"] == "success"


async def test_admin_routes_reach_auth_and_key_manager(stack_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=stack_gateway.url, trust_env=False, timeout=15) as http:
        login = await http.post(
            "/api/auth/login", json={"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['accessToken']}"}

        users = await http.get("/api/admin/users", headers=admin)
        assert users.status_code == 200, users.text
        assert any(user["email"] == DEV_ADMIN_EMAIL for user in users.json()["data"])

        keys = await http.get("/api/admin/scraper-keys", headers=admin)
        assert keys.status_code == 200, keys.text
        assert len(keys.json()["data"]) >= 1
        assert "demo-key-1" not in keys.text  # keys are always masked

        jwks = await http.get("/.well-known/jwks.json")
        assert jwks.status_code == 200
        assert jwks.json()["keys"]


async def test_service_problems_pass_through_with_the_request_id(stack_gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=stack_gateway.url, trust_env=False, timeout=15) as http:
        response = await http.post(
            "/api/removal", json={"inputLink": "x"}, headers={"X-Request-ID": "e2e-req-1"}
        )
    assert response.status_code == 401  # jobs-api's answer: no token
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["x-request-id"] == "e2e-req-1"
