"""The running worker: connections, the worker context and its consumers, started and
stopped as one (used by `main` and, in process, by the integration tests)."""

from __future__ import annotations

import logging
import random
import statistics
from dataclasses import asdict
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from git44_common.amqp import (
    CALLBACK_RECEIVED,
    Consumer,
    MessageHandler,
    RpcClient,
    start_consumer,
)
from git44_common.clock import utc_now
from git44_common.contracts import (
    AccountDeleted,
    CallbackReceived,
    JobEvent,
    RemovalRequested,
    WebhookDeliveryRequested,
)
from git44_common.runtime import ServiceRuntime
from git44_common.webhook_endpoints import EndpointDirectory
from git44_worker.adapters.kie import KieClient
from git44_worker.adapters.provider import Provider, Providers
from git44_worker.adapters.removesora import RemoveSoraClient
from git44_worker.breaker import UpstreamBreakers
from git44_worker.callbacks import CallbackWaiters
from git44_worker.consumers.accounts import AccountDeletedConsumer
from git44_worker.consumers.removal import RemovalConsumer
from git44_worker.consumers.webhooks import JobEventWebhooks, WebhookConsumer
from git44_worker.context import WorkerContext
from git44_worker.core.config import WorkerSettings
from git44_worker.core.db import INDEXES
from git44_worker.crud import jobs as jobs_crud
from git44_worker.crud import webhooks as webhook_deliveries
from git44_worker.domain.poll_policy import LEARNING_WINDOW, PollPolicy, build_poll_policy
from git44_worker.events import JobNotifier
from git44_worker.key_lease import KeyLeaser
from git44_worker.webhooks import WebhookSender

M = TypeVar("M", bound=BaseModel)
SERVICE = "worker"
log = logging.getLogger(__name__)

# how far back a starting worker looks for what earlier workers learnt
LEARNING_MAX_AGE = timedelta(days=7)

# Webhook deliveries are short HTTP calls; a few in parallel per worker are plenty.
WEBHOOK_PREFETCH = 4
# account deletions are rare; one delete_many each
ACCOUNTS_PREFETCH = 2


class WorkerService:
    """Owns the runtime and the consumers of one worker process."""

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        upstream_transport: httpx.AsyncBaseTransport | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.runtime = ServiceRuntime(settings, name=SERVICE)
        self.providers = Providers(
            (
                build_provider(name, settings, upstream_transport)
                for name in settings.provider_order
            ),
            weights=settings.provider_weight_map,
        )
        self.callbacks = CallbackWaiters()
        self.sender = WebhookSender(
            timeout=settings.webhook_timeout_seconds,
            allow_private=settings.webhook_allow_private,
            transport=webhook_transport,
        )
        self._rpc: RpcClient | None = None
        self._consumers: list[Consumer[Any]] = []
        self.ctx: WorkerContext | None = None

    async def start(self, *, wait_seconds: float = 60.0) -> None:
        """Connect (waiting for the servers), then start consuming."""
        # httpx logs every request URL at INFO; ScraperAPI URLs carry the key.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        await self.runtime.open(indexes=INDEXES, wait_seconds=wait_seconds)
        owners = await webhook_deliveries.attach_owners(self.runtime.db)
        if owners.attached or owners.orphans_deleted:
            log.info("webhook deliveries given their owner", extra=asdict(owners))
        self.ctx = await self._build_context()
        await self._start_consumers(self.ctx)
        log.info("worker consuming", extra={"worker_id": self.settings.worker_id})

    async def _build_context(self) -> WorkerContext:
        s, runtime = self.settings, self.runtime
        self._rpc = RpcClient(
            await runtime.amqp.channel(), queue_name=runtime.topology.keys_rpc_queue
        )
        leaser = KeyLeaser(
            rpc=self._rpc,
            publisher=runtime.publisher,
            worker_id=s.worker_id,
            acquire_timeout=s.key_acquire_timeout_seconds,
            wait_for_key_seconds=s.key_wait_seconds,
            unavailable_delay=s.key_unavailable_delay_seconds,
            max_swaps=s.max_key_swaps,
        )
        policy = build_poll_policy(
            s.poll_policy,
            min_seconds=s.poll_min_seconds,
            max_seconds=s.poll_max_seconds,
            min_samples=s.adaptive_min_samples,
            first_quantile=s.poll_first_quantile,
            rng=random.Random(),
        )
        await self._learn_from_earlier_workers(policy)
        endpoints = EndpointDirectory(runtime.db, ttl_seconds=s.webhook_endpoint_cache_seconds)
        return WorkerContext(
            settings=s,
            mongo=runtime.mongo,
            db=runtime.db,
            publisher=runtime.publisher,
            leaser=leaser,
            providers=self.providers,
            policy=policy,
            notifier=JobNotifier(runtime.publisher, runtime.db, endpoints),
            breakers=UpstreamBreakers(db=runtime.db, publisher=runtime.publisher, settings=s),
            callbacks=self.callbacks,
        )

    async def _learn_from_earlier_workers(self, policy: PollPolicy) -> None:
        """Start from what the workers of the last week learnt, not from the fixed
        schedule; an optimisation only: the worker starts anyway if the read fails."""
        since = utc_now() - LEARNING_MAX_AGE
        try:
            learnt = await jobs_crud.recent_learning(
                self.runtime.db, limit=LEARNING_WINDOW, since=since
            )
        except Exception:
            log.warning("could not read what earlier workers learnt", exc_info=True)
            return
        # where the latest workers sent first polls (the median of their last 20)
        recent = learnt.first_polls[:20]
        first_poll_at = statistics.median(recent) if recent else None
        policy.learn(learnt.windows, first_poll_at=first_poll_at)
        log.info("poll policy starts from %d earlier successes", len(learnt.windows))

    async def _start_consumers(self, ctx: WorkerContext) -> None:
        runtime, topology = self.runtime, self.runtime.topology
        removal = RemovalConsumer(ctx)
        await self._consume(
            topology.removal_queue,
            removal.handle,
            model=RemovalRequested,
            prefetch=self.settings.concurrency,
        )
        endpoints = ctx.notifier.endpoints
        webhooks = WebhookConsumer(
            settings=self.settings,
            db=runtime.db,
            publisher=runtime.publisher,
            sender=self.sender,
            endpoints=endpoints,
        )
        await self._consume(
            topology.webhooks_queue,
            webhooks.handle,
            model=WebhookDeliveryRequested,
            prefetch=WEBHOOK_PREFETCH,
        )
        # this replica's own queue of `callback.received` (every replica hears each)
        channel = await runtime.amqp.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(topology.events_exchange, CALLBACK_RECEIVED)
        self._consumers.append(
            await start_consumer(
                channel, queue.name, ctx.callbacks.handle, model=CallbackReceived, prefetch=64
            )
        )
        progress = JobEventWebhooks(publisher=runtime.publisher, endpoints=endpoints)
        await self._consume(
            topology.webhook_events_queue,
            progress.handle,
            model=JobEvent,
            prefetch=WEBHOOK_PREFETCH,
        )
        accounts = AccountDeletedConsumer(runtime.db)
        await self._consume(
            topology.worker_accounts_queue,
            accounts.handle,
            model=AccountDeleted,
            prefetch=ACCOUNTS_PREFETCH,
        )

    async def _consume(
        self, queue: str, handler: MessageHandler[M], *, model: type[M], prefetch: int
    ) -> None:
        """Consume `queue` on a channel of its own until `stop`."""
        channel = await self.runtime.amqp.channel()
        consumer = await start_consumer(channel, queue, handler, model=model, prefetch=prefetch)
        self._consumers.append(consumer)

    async def stop(self, *, grace: float = 10.0) -> None:
        """Stop consuming; jobs still running after `grace` s are handed back at once
        (their job lease given up)."""
        for consumer in self._consumers:
            await consumer.cancel(grace=grace)
        self._consumers.clear()
        if self._rpc is not None:
            await self._rpc.close()
        await self.providers.aclose()
        await self.sender.aclose()
        await self.runtime.close()


def build_provider(
    name: str, settings: WorkerSettings, transport: httpx.AsyncBaseTransport | None
) -> Provider:
    """The configured provider `name` (WORKER_PROVIDERS)."""
    if name == "kie":
        return KieClient(
            base_url=settings.kie_url,
            api_keys=settings.kie_key_list,
            timeout=settings.kie_timeout_seconds,
            connect_timeout=settings.connect_timeout_seconds,
            require_https=not settings.is_development,
            transport=transport,
        )
    return RemoveSoraClient(
        scraperapi_url=settings.scraperapi_url,
        removesora_url=settings.removesora_url,
        read_timeout=settings.scraperapi_timeout_seconds,
        connect_timeout=settings.connect_timeout_seconds,
        require_https=not settings.is_development,
        transport=transport,
    )
