"""The simulator's records: accounts, per-key counters, tasks, admission outcomes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

TaskOutcome = Literal["success", "failed"]
TaskStatus = Literal["processing", "success", "failed"]


@dataclass
class Account:
    """One ScraperAPI key and the counters `/account` reports."""

    api_key: str
    request_limit: int
    concurrency_limit: int
    request_count: int = 0
    failed_request_count: int = 0
    concurrent_requests: int = 0


@dataclass
class KeyStats:
    """What the control plane reports per key; survives the key's deletion."""

    charged: int = 0
    failed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    max_concurrent: int = 0


@dataclass
class SimStats:
    by_key: dict[str, KeyStats] = field(default_factory=dict)
    served: Counter[int] = field(default_factory=Counter)
    tasks_created: int = 0
    tasks_by_video_url: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    # the second provider (kie.py)
    kie_served: Counter[int] = field(default_factory=Counter)
    kie_tasks_created: int = 0
    kie_polls: int = 0
    kie_callbacks_sent: int = 0

    def for_key(self, api_key: str) -> KeyStats:
        return self.by_key.setdefault(api_key, KeyStats())


@dataclass
class Task:
    task_id: str
    video_url: str
    created_at: datetime
    ready_at: datetime
    outcome: TaskOutcome
    error: str | None = None
    polls: int = 0

    def status_at(self, now: datetime) -> TaskStatus:
        return "processing" if now < self.ready_at else self.outcome


@dataclass(frozen=True)
class Rejection:
    """A proxy request refused before it reached upstream (401, 403 or 429)."""

    status: int
    account: Account | None


@dataclass(frozen=True)
class Admission:
    """A proxy request holding one of its key's concurrency slots.

    It keeps the records it was admitted against, so a request that finishes after a
    reset updates the old records, never the fresh ones.
    """

    account: Account
    key_stats: KeyStats
    sim_stats: SimStats
