"""The cap on a user's live API keys holds when an abuser creates them in parallel
(each key is its own per-key request budget, so the cap bounds what one user can draw)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from localstack import LocalStack

from git44_auth.core.config import AuthSettings
from tests.security.actors import register

KEYS_PER_USER = AuthSettings.model_fields["max_api_keys_per_user"].default


async def test_forty_concurrent_key_creations_end_at_exactly_the_cap(
    security_stack: LocalStack,
) -> None:
    account = register(security_stack)  # holds its first key already
    url = f"{security_stack.url('auth')}/api/auth/api-keys"
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        responses = await asyncio.gather(
            *(http.post(url, json={"name": f"k{i}"}, headers=account.headers) for i in range(40))
        )
        listed = await http.get(url, headers=account.headers)
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: KEYS_PER_USER - 1, 409: 40 - (KEYS_PER_USER - 1)}
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"conflict"}
    assert len(listed.json()["data"]) == KEYS_PER_USER
