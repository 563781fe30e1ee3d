"""Helpers of the jobs-api integration tests (fixtures are in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI

from git44_common.mongo import Database
from git44_common.security import api_key_display_prefix, generate_api_key, hash_api_key
from git44_jobs.core.config import JobsSettings
from tests.utils.tokens import TokenIssuer


class Jobs:
    """A running jobs-api: its app, an HTTP client, and its settings."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient, settings: JobsSettings) -> None:
        self.app = app
        self.client = client
        self.settings = settings

    @property
    def context(self) -> Any:
        return self.app.state.context


class Users:
    def __init__(self, db: Database, issuer: TokenIssuer) -> None:
        self.db = db
        self.issuer = issuer

    async def create(self, *, role: str = "user", quota: dict[str, Any] | None = None) -> str:
        user_id = uuid.uuid4().hex
        await self.db.users.insert_one(
            {"_id": user_id, "email": f"{user_id}@example.com", "role": role, "disabled": False}
        )
        if quota is not None:
            now = datetime.now(UTC)
            await self.db.user_quotas.insert_one(
                {
                    "_id": user_id,
                    "total_quota": quota.get("total", 500),
                    "remaining_quota": quota.get("remaining", quota.get("total", 500)),
                    "daily_limit": quota.get("daily", 1000),
                    "daily_used": 0,
                    "day": now.date().isoformat(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        return user_id

    def bearer(self, user_id: str, *, role: str = "user") -> dict[str, str]:
        return self.issuer.bearer(user_id, role=role)

    async def api_key(self, user_id: str) -> str:
        key = generate_api_key()
        await self.db.api_keys.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "user_id": user_id,
                "name": "test",
                "prefix": api_key_display_prefix(key),
                "key_hash": hash_api_key(key),
                "created_at": datetime.now(UTC),
                "last_used": None,
                "revoked_at": None,
            }
        )
        return key


async def queue_depth(connection: AbstractRobustConnection, queue: str) -> int:
    async with connection.channel() as channel:
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


class SseClient:
    """Reads an SSE stream in the background; `events` collects (event, id, data) tuples."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.events: list[tuple[str, str | None, Any]] = []
        self._task = asyncio.create_task(self._read(client, url, headers))

    async def _read(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        import json

        async with client.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line == "":
                    if "data" in fields:
                        data = json.loads(fields["data"])
                        self.events.append((fields.get("event", ""), fields.get("id"), data))
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")

    def of(self, kind: str) -> list[tuple[str, str | None, Any]]:
        return [e for e in self.events if e[0] == kind]

    async def finished(self) -> None:
        """Wait until the server ends the stream."""
        await asyncio.shield(self._task)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
