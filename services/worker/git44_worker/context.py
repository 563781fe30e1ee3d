"""What a job run needs, built once per worker process (`service.WorkerService`)."""

from __future__ import annotations

from dataclasses import dataclass

from git44_common.amqp import Publisher
from git44_common.mongo import Database, MongoClient
from git44_worker.adapters.provider import Providers
from git44_worker.breaker import UpstreamBreakers
from git44_worker.callbacks import CallbackWaiters
from git44_worker.core.config import WorkerSettings
from git44_worker.domain.poll_policy import PollPolicy
from git44_worker.events import JobNotifier
from git44_worker.key_lease import KeyLeaser


@dataclass(frozen=True, kw_only=True)
class WorkerContext:
    """Settings, connections and collaborators shared by every job run."""

    settings: WorkerSettings
    mongo: MongoClient
    db: Database
    publisher: Publisher
    leaser: KeyLeaser
    providers: Providers
    policy: PollPolicy
    notifier: JobNotifier
    breakers: UpstreamBreakers
    callbacks: CallbackWaiters
