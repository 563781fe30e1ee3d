"""Callbacks instead of polling (issue 16): a provider that calls back (`Provider.callbacks`)
is given `WORKER_CALLBACK_BASE_URL/api/providers/<provider>/callback/<token>` for each
task; the token is unguessable and only its SHA-256 is stored, with the task id.

jobs-api receives the call, stores the result on the job (`callback`) once and
publishes `callback.received`; every worker replica hears it on its own queue and wakes
the job run waiting for it here, which completes the job with no poll. A callback that
is late — later than the poll policy's first poll plus `WORKER_CALLBACK_GRACE_SECONDS`
— is not waited for: the job run polls as usual (a callback arriving after that is
stored and ignored).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from aio_pika.abc import AbstractIncomingMessage

from git44_common.contracts import CallbackReceived


def new_callback_token() -> tuple[str, str]:
    """A token for a task's callback URL, and the hash stored with the task."""
    token = secrets.token_urlsafe(32)
    return token, callback_token_hash(token)


def callback_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CallbackWaiters:
    """The job runs of this worker waiting for their provider's callback."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Event] = {}

    def register(self, job_id: str) -> asyncio.Event:
        return self._waiting.setdefault(job_id, asyncio.Event())

    def forget(self, job_id: str) -> None:
        self._waiting.pop(job_id, None)

    async def handle(self, event: CallbackReceived, message: AbstractIncomingMessage) -> None:
        """Consumer of this replica's `callback.received` queue."""
        waiting = self._waiting.get(event.job_id)
        if waiting is not None:
            waiting.set()
