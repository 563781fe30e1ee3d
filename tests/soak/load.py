"""The soak's steady mixed load, as real clients behave:

- SPA users (bearer tokens) submit one link at a time, cancel some at once, refresh
  their access token at half its life, log in again now and then, and each keeps an
  SSE stream open (reconnecting with `Last-Event-ID`, refreshing on `expired`);
- API-key users submit with a `callbackUrl`, or in batches to an account with a
  webhook endpoint; both webhook targets are `Receivers` in this process;
- 30 % of the links were submitted before (by anyone), the rest are new.

Every submission carries an `Idempotency-Key` and is sent again with the same key
while the answer is a connection error or a 5xx: a client that cannot tell whether
its job was accepted asks again, so a job committed by a jobs-api that then died is
still answered (202) and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.soak.receivers import Receivers
from tests.utils.accounts import PASSWORD, register_account

RETRY_STATUSES = {502, 503, 504, 500}
GIVE_UP_SECONDS = 180.0
REPEATED_LINKS = 0.30


@dataclass
class Ledger:
    """What the clients saw: accepted jobs by user, counters, SSE regressions."""

    accepted: dict[str, str] = field(default_factory=dict)  # job id -> user id
    counts: Counter[str] = field(default_factory=Counter)
    sse_went_back: list[str] = field(default_factory=list)  # "<job>: v<old> -> v<new>"


class Links:
    """New Sora links, and 30 % of the time one submitted before."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: list[str] = []

    def next(self) -> str:
        if self.seen and self.rng.random() < REPEATED_LINKS:
            return self.rng.choice(self.seen)
        link = f"https://sora.chatgpt.com/p/s_{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
        self.seen.append(link)
        return link


@dataclass
class Account:
    auth_url: str
    email: str
    user_id: str
    access: str
    refresh_token: str
    api_key: str
    issued: float = field(default_factory=time.monotonic)

    @classmethod
    async def register(cls, http: httpx.AsyncClient, auth_url: str, prefix: str) -> Account:
        answer = await register_account(http, auth_url, prefix=prefix)
        return cls(
            auth_url,
            answer["user"]["email"],
            str(answer["user"]["id"]),
            answer["accessToken"],
            answer["refreshToken"],
            answer["apiKey"]["key"],
        )

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    async def refresh(self, http: httpx.AsyncClient, ledger: Ledger) -> bool:
        body = {"refreshToken": self.refresh_token}
        return await self._tokens(http, ledger, "/api/auth/refresh", body, "refreshes")

    async def login(self, http: httpx.AsyncClient, ledger: Ledger) -> bool:
        """A new session (the old one logged out), as a user signing in again."""
        old = self.refresh_token
        body = {"email": self.email, "password": PASSWORD}
        if not await self._tokens(http, ledger, "/api/auth/login", body, "logins"):
            return False
        with contextlib.suppress(httpx.HTTPError):
            await http.post(f"{self.auth_url}/api/auth/logout", json={"refreshToken": old})
        return True

    async def _tokens(
        self, http: httpx.AsyncClient, ledger: Ledger, path: str, body: Any, what: str
    ) -> bool:
        try:
            response = await http.post(f"{self.auth_url}{path}", json=body)
        except httpx.HTTPError:
            ledger.counts[f"{what}_unanswered"] += 1
            return False
        if response.status_code != 200:
            ledger.counts[f"{what}_{response.status_code}"] += 1
            return False
        tokens = response.json()
        self.access, self.refresh_token = tokens["accessToken"], tokens["refreshToken"]
        self.issued = time.monotonic()
        ledger.counts[what] += 1
        return True


async def send(
    http: httpx.AsyncClient,
    ledger: Ledger,
    url: str,
    body: Any,
    headers: dict[str, str],
    *,
    account: Account | None = None,
) -> httpx.Response | None:
    """POST with one Idempotency-Key until an answer that is not a 5xx (or give up)."""
    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        if account is not None:
            headers.update(account.bearer())
        try:
            response = await http.post(url, json=body, headers=headers)
        except httpx.HTTPError:
            ledger.counts["submissions_resent_after_no_answer"] += 1
            await asyncio.sleep(1.0)
            continue
        if response.status_code == 500:
            ledger.counts["http_500"] += 1
        if response.status_code == 401 and account is not None:
            await account.refresh(http, ledger)
        elif response.status_code not in RETRY_STATUSES:
            return response
        ledger.counts[f"submissions_resent_after_{response.status_code}"] += 1
        await asyncio.sleep(1.0)
    ledger.counts["submissions_given_up"] += 1
    return None


def accept(ledger: Ledger, user_id: str, response: httpx.Response | None, kind: str) -> list[str]:
    """Record the jobs a submission answer accepted; their ids."""
    if response is None:
        return []
    if response.status_code == 202:
        jobs = [response.json()]
    elif response.status_code == 200 and kind == "batch":
        jobs = [item["job"] for item in response.json()["data"] if item.get("job")]
    else:
        ledger.counts[f"{kind}_refused_{response.status_code}"] += 1
        return []
    for job in jobs:
        ledger.accepted[job["id"]] = user_id
    ledger.counts[f"{kind}_jobs"] += len(jobs)
    return [job["id"] for job in jobs]


# --------------------------------------------------------------------------------------
# Actors


@dataclass
class Actors:
    """Every client of the soak; `run` until `stop` is set."""

    jobs_url: str
    auth_url: str
    ledger: Ledger
    links: Links
    receivers: Receivers
    rng: random.Random
    spa: list[Account] = field(default_factory=list)
    callback_user: Account | None = None
    endpoint_user: Account | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def prepare(self, http: httpx.AsyncClient, *, spa_users: int = 3) -> None:
        self.spa = [
            await Account.register(http, self.auth_url, "soak-spa") for _ in range(spa_users)
        ]
        self.callback_user = await Account.register(http, self.auth_url, "soak-callback")
        self.endpoint_user = await Account.register(http, self.auth_url, "soak-endpoint")
        response = await http.post(
            f"{self.jobs_url}/api/v1/webhooks/endpoints",
            json={"url": self.receivers.url("/endpoint"), "description": "soak"},
            headers={"X-API-Key": self.endpoint_user.api_key},
        )
        assert response.status_code == 201, response.text

    def users(self) -> list[Account]:
        assert self.callback_user is not None
        assert self.endpoint_user is not None
        return [*self.spa, self.callback_user, self.endpoint_user]

    async def run(self, http: httpx.AsyncClient) -> None:
        tasks = [self._spa_user(http, a) for a in self.spa]
        tasks += [self._sse(a) for a in self.spa]
        tasks += [self._callback_user(http), self._endpoint_user(http)]
        await asyncio.gather(*tasks)

    async def _pause(self, seconds: float) -> bool:
        """Sleep about `seconds`; False once the load is to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds * self.rng.uniform(0.5, 1.5))
        return not self.stop.is_set()

    async def _spa_user(self, http: httpx.AsyncClient, account: Account) -> None:
        last_login = time.monotonic()
        while await self._pause(3.0):
            if time.monotonic() - account.issued > 120:
                await account.refresh(http, self.ledger)
            if time.monotonic() - last_login > 300:
                last_login = time.monotonic()
                await account.login(http, self.ledger)
            url = f"{self.jobs_url}/api/removal"
            body = {"inputLink": self.links.next()}
            response = await send(http, self.ledger, url, body, {}, account=account)
            for job_id in accept(self.ledger, account.user_id, response, "spa"):
                if self.rng.random() < 0.1:
                    await self._cancel(http, account, job_id)

    async def _cancel(self, http: httpx.AsyncClient, account: Account, job_id: str) -> None:
        url = f"{self.jobs_url}/api/removal/{job_id}/cancel"
        with contextlib.suppress(httpx.HTTPError):
            response = await http.post(url, headers=account.bearer())
            self.ledger.counts[f"cancel_{response.status_code}"] += 1

    async def _callback_user(self, http: httpx.AsyncClient) -> None:
        account = self.callback_user
        assert account is not None
        headers = {"X-API-Key": account.api_key}
        while await self._pause(4.0):
            body = {"inputLink": self.links.next(), "callbackUrl": self.receivers.url("/callback")}
            response = await send(
                http, self.ledger, f"{self.jobs_url}/api/v1/removals", body, headers
            )
            accept(self.ledger, account.user_id, response, "api")

    async def _endpoint_user(self, http: httpx.AsyncClient) -> None:
        account = self.endpoint_user
        assert account is not None
        headers = {"X-API-Key": account.api_key}
        while await self._pause(10.0):
            items = [{"inputLink": self.links.next()} for _ in range(self.rng.randint(2, 5))]
            url = f"{self.jobs_url}/api/v1/removals/batch"
            response = await send(http, self.ledger, url, {"items": items}, headers)
            accept(self.ledger, account.user_id, response, "batch")

    async def _sse(self, account: Account) -> None:
        """One open stream per SPA user, as the SPA keeps one; a state that goes back
        within a stream is recorded."""
        last_id: str | None = None
        timeout = httpx.Timeout(10.0, read=40.0)  # the server pings every 15 s
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            while not self.stop.is_set():
                headers = account.bearer() | ({"Last-Event-ID": last_id} if last_id else {})
                try:
                    last_id = await self._stream(http, account, headers, last_id)
                except (httpx.ConnectError, httpx.ConnectTimeout):
                    self.ledger.counts["sse_unreachable"] += 1  # jobs-api down: not a drop
                except (httpx.HTTPError, ValueError):
                    self.ledger.counts["sse_dropped"] += 1
                if not await self._pause(1.0):
                    return

    async def _stream(
        self, http: httpx.AsyncClient, account: Account, headers: dict[str, str], last: str | None
    ) -> str | None:
        url = f"{self.jobs_url}/api/removal/events"
        async with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 401:
                await account.refresh(http, self.ledger)
                return last
            if response.status_code != 200:
                self.ledger.counts[f"sse_refused_{response.status_code}"] += 1
                return last
            self.ledger.counts["sse_connects"] += 1
            versions: dict[str, int] = {}
            event = ""
            async for line in response.aiter_lines():
                if self.stop.is_set():
                    return last
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if event == "expired":
                        self.ledger.counts["sse_expired"] += 1
                        await account.refresh(http, self.ledger)
                        return last
                elif line.startswith("id:") and event == "job":
                    last = line[3:].strip()
                    job_id, _, version = last.rpartition(":")
                    seen = versions.get(job_id, -1)
                    if int(version) < seen:
                        self.ledger.sse_went_back.append(f"{job_id}: v{seen} -> v{version}")
                    versions[job_id] = max(seen, int(version))
                    self.ledger.counts["sse_job_events"] += 1
        return last
