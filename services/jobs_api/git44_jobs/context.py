"""What jobs-api's request handlers and background tasks share, built in the lifespan."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from datetime import datetime

from git44_common.amqp import Publisher, Topology
from git44_common.clock import Clock, utc_now
from git44_common.encryption import KeyRing
from git44_common.mongo import Database, Document, MongoClient
from git44_common.webhook_endpoints import EndpointDirectory
from git44_jobs.core.batching import Batcher
from git44_jobs.core.config import JobsSettings
from git44_jobs.credits.service import Quotas
from git44_jobs.live.streams import StreamSlots
from git44_jobs.outbox.flags import PublishedFlags
from git44_jobs.outbox.publish import Outbox
from git44_jobs.ratelimits.service import RateLimiter
from git44_jobs.results.service import ResultCache
from git44_jobs.submissions.group_commit import submission_batcher
from git44_jobs.submissions.service import LinkRules, Submitter
from git44_jobs.webhooks.endpoints import EndpointRegistry


@dataclass
class JobsContext:
    """Clients, settings and the per-process collaborators the domains need.

    `outbox.publisher` may be swapped at run time (tests, broker outages)."""

    settings: JobsSettings
    mongo: MongoClient
    db: Database
    topology: Topology
    publisher: InitVar[Publisher]
    clock: Clock = field(default=utc_now)
    quotas: Quotas = field(init=False)
    flags: PublishedFlags = field(init=False)
    outbox: Outbox = field(init=False)
    batcher: Batcher[Document, bool] = field(init=False)
    submitter: Submitter = field(init=False)
    links: LinkRules = field(init=False)
    limiter: RateLimiter = field(init=False)
    streams: StreamSlots = field(init=False)
    webhook_keys: KeyRing = field(init=False)
    endpoints: EndpointDirectory = field(init=False)
    webhook_endpoints: EndpointRegistry = field(init=False)

    def __post_init__(self, publisher: Publisher) -> None:
        settings = self.settings
        self.webhook_keys = settings.webhook_secret_keys()
        self.endpoints = EndpointDirectory(
            self.db, ttl_seconds=settings.webhook_endpoint_cache_seconds
        )
        self.quotas = Quotas(
            total=settings.default_total_quota, daily_limit=settings.default_daily_limit
        )
        self.flags = PublishedFlags(self.mongo, self.db)
        self.outbox = Outbox(
            publisher=publisher,
            topology=self.topology,
            db=self.db,
            flags=self.flags,
            timeout=settings.publish_timeout_seconds,
        )
        self.batcher = submission_batcher(
            self.mongo, self.db, self.clock, max_batch=settings.submit_batch_max, flags=self.flags
        )
        self.submitter = Submitter(
            db=self.db,
            quotas=self.quotas,
            batcher=self.batcher,
            outbox=self.outbox,
            cache=ResultCache(db=self.db, policy=settings.result_cache),
            cache_hit_credits=settings.cache_hit_credits,
            clock=self.clock,
            max_retries=settings.max_retries,
            max_polls=settings.max_polls,
            request_claim_seconds=settings.request_claim_seconds,
            endpoints=self.endpoints,
        )
        self.limiter = RateLimiter(self.db, settings, self.clock)
        self.streams = StreamSlots(
            self.db,
            per_user=settings.sse_streams_per_user,
            check_seconds=settings.sse_heartbeat_seconds,
            clock=self.clock,
        )
        self.links = LinkRules(
            sora_hosts=settings.sora_hosts,
            allow_private_callbacks=settings.allow_private_callbacks,
        )
        self.webhook_endpoints = EndpointRegistry(
            db=self.db,
            keys=self.webhook_keys,
            directory=self.endpoints,
            per_user=settings.webhook_endpoints_per_user,
            rotation_overlap_seconds=settings.webhook_rotation_overlap_seconds,
            allow_private=settings.allow_private_callbacks,
            publish_timeout=settings.publish_timeout_seconds,
        )

    def now(self) -> datetime:
        return self.clock()

    async def close(self) -> None:
        """Finish the writes still queued (at shutdown, before the clients close)."""
        await self.batcher.close()
        await self.flags.close()
