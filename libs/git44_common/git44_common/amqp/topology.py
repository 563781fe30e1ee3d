"""The whole RabbitMQ topology of Git44, declared idempotently from one place.

    git44.jobs (direct) ──removal.requested──► git44.removal (quorum, delivery limit)
                        ├─webhook.deliver────► git44.webhooks (quorum, delivery limit)
                        ├─mail.send──────────► git44.mail (quorum, delivery limit; auth)
                        ├─account.deleted────► git44.accounts (quorum, delivery limit; jobs-api)
                        ├─account.deleted────► git44.worker.accounts (the same; worker)
                        └─account.notice─────► git44.auth.notices (the same; auth mails the owner)
    git44.dlx (direct)  ──removal.dead───────► git44.removal.dead
                        ├─webhook.dead───────► git44.webhooks.dead
                        ├─mail.dead──────────► git44.mail.dead
                        ├─account.deleted.dead► git44.accounts.dead
                        ├─account.notice.dead► git44.auth.notices.dead
                        └─keys.release.dead──► git44.keys.release.dead
    git44.keys (direct) ──keys.release───────► git44.keys.release (quorum, delivery limit)
                        └─keys.release.<replica>► git44.keys.release.<replica> (declared by
                                                 that key-manager replica: exclusive)
    default exchange    ──git44.keys.acquire─► git44.keys.acquire (quorum; acquire RPC requests)
    default exchange    ──<delay queue name>─► git44.<family>.delay.<n>s (quorum, TTL n s)
                                                 └─ dead-letters back to git44.jobs
    git44.events (topic): job.<status>, key.<event>; subscribers bind their own queues:
                        job.queued, job.processing ► git44.webhooks.events (quorum, bounded,
                                                 oldest dropped; the worker's progress
                                                 webhooks, best effort)
    git44.sessions (fanout): SessionsEnded from auth; every replica of every HTTP
                        service binds its own exclusive, auto-deleted queue.

Every service declares all of it at start-up; the arguments are constants, so a second
declaration (another replica, another service) is a no-op instead of a
PRECONDITION_FAILED. Changing an argument of an existing queue needs a migration.

Delays use one queue per tier with a queue-level TTL: with a single queue and
per-message TTLs, a message only expires when it reaches the head, so a 5 s retry
would wait behind a 30 min one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel

REMOVAL_REQUESTED = "removal.requested"
REMOVAL_DEAD = "removal.dead"
WEBHOOK_DELIVER = "webhook.deliver"
WEBHOOK_DEAD = "webhook.dead"
MAIL_SEND = "mail.send"
MAIL_DEAD = "mail.dead"
KEYS_RELEASE = "keys.release"
KEYS_RELEASE_DEAD = "keys.release.dead"
ACCOUNT_DELETED = "account.deleted"
ACCOUNT_DELETED_DEAD = "account.deleted.dead"
ACCOUNT_NOTICE = "account.notice"
ACCOUNT_NOTICE_DEAD = "account.notice.dead"
# progress webhooks are best effort: past this many waiting events the oldest go
WEBHOOK_EVENTS_MAX_LENGTH = 100_000
# the job events that become progress webhooks (the terminal ones ride the job's own
# webhook request; `polling` is no news after `processing`)
PROGRESS_EVENT_KEYS = ("job.queued", "job.processing")
# an account's jobs still at the upstream are looked at again after this many seconds
ACCOUNT_DELAY_TIERS = (10,)
JOB_EVENTS = "job.*"
# jobs-api → every worker replica: a provider called back (git44_worker.callbacks)
CALLBACK_RECEIVED = "callback.received"
KEY_EVENTS = "key.*"

REMOVAL_DELAY_TIERS: tuple[int, ...] = (1, 5, 30, 120, 600, 1800)
WEBHOOK_DELAY_TIERS: tuple[int, ...] = (1, 5, 30, 300, 1800, 7200)
# auth's mail retries follow AUTH_MAIL_RETRY_DELAYS_SECONDS; a delay between two tiers
# comes back early on the lower one and is re-delayed for the rest
MAIL_DELAY_TIERS: tuple[int, ...] = (1, 10, 60, 300, 1800)


def keys_release_routing_key(replica_id: str | None) -> str:
    """Routing key of a key release on `git44.keys`: the queue of the key-manager
    replica that granted the lease (it holds the lease in memory), or the shared
    `keys.release` queue for a lease that names no replica."""
    return f"{KEYS_RELEASE}.{replica_id}" if replica_id else KEYS_RELEASE


def job_event_key(status: str) -> str:
    """Routing key of a job event on `git44.events`, e.g. `job.success`."""
    return f"job.{status}"


def key_event_key(event: str) -> str:
    """Routing key of a ScraperAPI-key event on `git44.events`, e.g. `key.limited`."""
    return f"key.{event}"


class QueueFamily(StrEnum):
    """A work queue that has its own delay tiers."""

    REMOVAL = "removal"
    WEBHOOKS = "webhooks"
    MAIL = "mail"
    ACCOUNTS = "accounts"


_DELAY_TIERS = {
    QueueFamily.REMOVAL: REMOVAL_DELAY_TIERS,
    QueueFamily.WEBHOOKS: WEBHOOK_DELAY_TIERS,
    QueueFamily.MAIL: MAIL_DELAY_TIERS,
    QueueFamily.ACCOUNTS: ACCOUNT_DELAY_TIERS,
}


def pick_delay_tier(tiers: tuple[int, ...], seconds: float) -> int:
    """The largest tier <= `seconds`, or the smallest tier when `seconds` is below it."""
    fitting = [tier for tier in tiers if tier <= seconds]
    return max(fitting) if fitting else min(tiers)


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    type: ExchangeType


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    bindings: tuple[tuple[str, str], ...] = ()  # (exchange, routing key)


def _quorum(**extra: Any) -> dict[str, Any]:
    return {"x-queue-type": "quorum", **extra}


@dataclass(frozen=True)
class Topology:
    """Names and arguments of every exchange and queue, suffixed with `namespace`.

    `namespace` isolates tests (".t1a2b3c"); production uses "". `delivery_limit`
    is how often a quorum queue delivers a message before dead-lettering it.
    """

    namespace: str = ""
    delivery_limit: int = 5

    def _name(self, base: str) -> str:
        return f"{base}{self.namespace}"

    @property
    def jobs_exchange(self) -> str:
        return self._name("git44.jobs")

    @property
    def events_exchange(self) -> str:
        return self._name("git44.events")

    @property
    def sessions_exchange(self) -> str:
        return self._name("git44.sessions")

    @property
    def keys_exchange(self) -> str:
        return self._name("git44.keys")

    @property
    def dead_letter_exchange(self) -> str:
        return self._name("git44.dlx")

    @property
    def removal_queue(self) -> str:
        return self._name("git44.removal")

    @property
    def removal_dead_queue(self) -> str:
        return self._name("git44.removal.dead")

    @property
    def webhooks_queue(self) -> str:
        return self._name("git44.webhooks")

    @property
    def webhooks_dead_queue(self) -> str:
        return self._name("git44.webhooks.dead")

    @property
    def mail_queue(self) -> str:
        return self._name("git44.mail")

    @property
    def mail_dead_queue(self) -> str:
        return self._name("git44.mail.dead")

    @property
    def keys_rpc_queue(self) -> str:
        return self._name("git44.keys.acquire")

    @property
    def keys_release_queue(self) -> str:
        return self._name("git44.keys.release")

    def keys_replica_release_queue(self, replica_id: str) -> str:
        """The release queue of one key-manager replica (exclusive to its connection, so
        it goes away with the replica; a release then falls back to the shared queue)."""
        return self._name(f"git44.keys.release.{replica_id}")

    @property
    def keys_release_dead_queue(self) -> str:
        return self._name("git44.keys.release.dead")

    @property
    def accounts_queue(self) -> str:
        return self._name("git44.accounts")

    @property
    def accounts_dead_queue(self) -> str:
        return self._name("git44.accounts.dead")

    @property
    def worker_accounts_queue(self) -> str:
        return self._name("git44.worker.accounts")

    @property
    def notices_queue(self) -> str:
        return self._name("git44.auth.notices")

    @property
    def notices_dead_queue(self) -> str:
        return self._name("git44.auth.notices.dead")

    @property
    def webhook_events_queue(self) -> str:
        return self._name("git44.webhooks.events")

    def delay_tiers(self, family: QueueFamily) -> tuple[int, ...]:
        """The delay tiers (seconds) of a queue family."""
        return _DELAY_TIERS[family]

    def delay_queue(self, family: QueueFamily, tier: int) -> str:
        """Name of the delay queue of `family` for `tier` seconds."""
        return self._name(f"git44.{family.value}.delay.{tier}s")

    def delay_queue_for(self, family: QueueFamily, seconds: float) -> tuple[str, int]:
        """(queue name, tier seconds) of the largest tier <= `seconds`.

        Below the smallest tier the smallest is used; above the largest the caller
        gets the largest and re-delays the remainder when the message comes back.
        """
        tier = pick_delay_tier(self.delay_tiers(family), seconds)
        return self.delay_queue(family, tier), tier

    def exchanges(self) -> tuple[ExchangeSpec, ...]:
        """Every exchange, all durable."""
        return (
            ExchangeSpec(self.jobs_exchange, ExchangeType.DIRECT),
            ExchangeSpec(self.dead_letter_exchange, ExchangeType.DIRECT),
            ExchangeSpec(self.keys_exchange, ExchangeType.DIRECT),
            ExchangeSpec(self.events_exchange, ExchangeType.TOPIC),
            ExchangeSpec(self.sessions_exchange, ExchangeType.FANOUT),
        )

    def queues(self) -> tuple[QueueSpec, ...]:
        """Every queue, all durable, in declaration order."""
        return (
            *self._dead_letter_queues(),
            self._work_queue(self.removal_queue, REMOVAL_REQUESTED, REMOVAL_DEAD),
            self._work_queue(self.webhooks_queue, WEBHOOK_DELIVER, WEBHOOK_DEAD),
            self._work_queue(self.mail_queue, MAIL_SEND, MAIL_DEAD),
            self._work_queue(self.accounts_queue, ACCOUNT_DELETED, ACCOUNT_DELETED_DEAD),
            self._work_queue(self.worker_accounts_queue, ACCOUNT_DELETED, ACCOUNT_DELETED_DEAD),
            self._work_queue(self.notices_queue, ACCOUNT_NOTICE, ACCOUNT_NOTICE_DEAD),
            QueueSpec(
                self.webhook_events_queue,
                _quorum(
                    **{
                        "x-delivery-limit": self.delivery_limit,
                        "x-max-length": WEBHOOK_EVENTS_MAX_LENGTH,
                        "x-overflow": "drop-head",
                    }
                ),
                tuple((self.events_exchange, key) for key in PROGRESS_EVENT_KEYS),
            ),
            self._keys_release_queue(),
            # Quorum, though a request is worthless after its caller's timeout (it
            # carries a matching expiration): a durable classic queue lives on one node
            # of a cluster, and while that node is down it can be neither used nor
            # declared again elsewhere, so no key is leased anywhere (`make chaos`,
            # broker cluster). The previous classic queue was `git44.keys.rpc`.
            QueueSpec(self.keys_rpc_queue, _quorum()),
            *self._delay_queues(QueueFamily.REMOVAL, REMOVAL_REQUESTED),
            *self._delay_queues(QueueFamily.WEBHOOKS, WEBHOOK_DELIVER),
            *self._delay_queues(QueueFamily.MAIL, MAIL_SEND),
            *self._delay_queues(QueueFamily.ACCOUNTS, ACCOUNT_DELETED),
        )

    def _dead_letter(self, exchange: str, routing_key: str) -> dict[str, Any]:
        # at-least-once: a quorum queue keeps a message until the target confirms it,
        # so nothing is lost between the queue and its dead-letter target.
        return {
            "x-dead-letter-exchange": exchange,
            "x-dead-letter-routing-key": routing_key,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def _work_queue(self, name: str, routing_key: str, dead_key: str) -> QueueSpec:
        arguments = _quorum(
            **{"x-delivery-limit": self.delivery_limit},
            **self._dead_letter(self.dead_letter_exchange, dead_key),
        )
        return QueueSpec(name, arguments, ((self.jobs_exchange, routing_key),))

    def _keys_release_queue(self) -> QueueSpec:
        arguments = _quorum(
            **{"x-delivery-limit": self.delivery_limit},
            **self._dead_letter(self.dead_letter_exchange, KEYS_RELEASE_DEAD),
        )
        return QueueSpec(self.keys_release_queue, arguments, ((self.keys_exchange, KEYS_RELEASE),))

    def _dead_letter_queues(self) -> tuple[QueueSpec, ...]:
        dlx = self.dead_letter_exchange
        return (
            QueueSpec(self.removal_dead_queue, _quorum(), ((dlx, REMOVAL_DEAD),)),
            QueueSpec(self.webhooks_dead_queue, _quorum(), ((dlx, WEBHOOK_DEAD),)),
            QueueSpec(self.keys_release_dead_queue, _quorum(), ((dlx, KEYS_RELEASE_DEAD),)),
            QueueSpec(self.mail_dead_queue, _quorum(), ((dlx, MAIL_DEAD),)),
            QueueSpec(self.accounts_dead_queue, _quorum(), ((dlx, ACCOUNT_DELETED_DEAD),)),
            QueueSpec(self.notices_dead_queue, _quorum(), ((dlx, ACCOUNT_NOTICE_DEAD),)),
        )

    def _delay_queues(self, family: QueueFamily, routing_key: str) -> tuple[QueueSpec, ...]:
        return tuple(
            QueueSpec(
                self.delay_queue(family, tier),
                _quorum(
                    **{"x-message-ttl": tier * 1000},
                    **self._dead_letter(self.jobs_exchange, routing_key),
                ),
            )
            for tier in self.delay_tiers(family)
        )


async def declare_topology(channel: AbstractChannel, topology: Topology) -> None:
    """Declare every exchange, queue and binding; safe to call again, from any service."""
    for exchange in topology.exchanges():
        await channel.declare_exchange(exchange.name, exchange.type, durable=True)
    for spec in topology.queues():
        queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
        for exchange_name, routing_key in spec.bindings:
            await queue.bind(exchange_name, routing_key)


async def delete_topology(channel: AbstractChannel, topology: Topology) -> None:
    """Delete every queue and exchange of `topology` (test clean-up), messages included."""
    for spec in topology.queues():
        await channel.queue_delete(spec.name)
    for exchange in topology.exchanges():
        await channel.exchange_delete(exchange.name)
