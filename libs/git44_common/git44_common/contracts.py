"""Message contracts: the JSON bodies the services exchange over RabbitMQ.

Every message carries `schema_version` (only 1 exists; another value is rejected, so
a consumer never half-understands a message from a newer producer) and ignores
unknown fields (a producer may add optional fields without a version bump). Fields
are snake_case; datetimes are ISO-8601 in UTC (a naive datetime, as MongoDB returns
by default, is taken as UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    model_validator,
)

from git44_common.clock import utc_now
from git44_common.ids import new_id


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Count = Annotated[int, Field(ge=0)]


# A fresh unique event id (also the webhook id of the event): an id like every other.
new_event_id = new_id


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    POLLING = "polling"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    LIMITED = "limited"
    COOLDOWN = "cooldown"
    DISABLED = "disabled"


class ReleaseOutcome(StrEnum):
    OK = "ok"
    LIMITED = "limited"  # ScraperAPI refused the key: 401 (unknown), 403 (credits), 429 (busy)
    ERROR = "error"


class Contract(BaseModel):
    """Base of every message: versioned, immutable, tolerant of unknown fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1] = 1


class RemovalRequested(Contract):
    """jobs-api → worker (`removal.requested`): process this job."""

    job_id: str
    user_id: str
    requested_at: UtcDatetime = Field(default_factory=utc_now)
    attempt: Count = 0


class JobEvent(Contract):
    """A job changed status (`job.<status>` on `git44.events`). `version` is the job
    document's after the change and `job` its public fields then (JobPublic's, snake
    case); both None from a publisher that predates them. Events of one job may arrive
    in any order: the version says which state is newer, and `job` is that state."""

    job_id: str
    user_id: str
    status: JobStatus
    version: int | None = None
    job: dict[str, Any] | None = None
    previous_status: JobStatus | None = None
    retry_count: Count = 0
    poll_count: Count = 0
    output_link: str | None = None
    error: str | None = None
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    event_id: str = Field(default_factory=new_event_id)
    # False for a wait (for a key, another job's result) and the claim that ends it:
    # no news for a progress webhook (removal.queued / removal.processing)
    progress: bool = True


class KeyAcquireRequest(Contract):
    """worker → key-manager (RPC `acquire`): lease me a ScraperAPI key."""

    worker_id: str
    job_id: str | None = None


class KeyLease(Contract):
    """A leased ScraperAPI key; the lease expires by itself at `lease_expires_at`.

    `replica_id` names the key-manager replica that granted it: the lease lives in
    that replica's memory, so its release goes to that replica's own queue
    (`keys_release_routing_key`); None (an older key-manager) means the shared queue.
    """

    key_id: str
    # SecretStr keeps the key out of reprs and logs; it is revealed only in JSON.
    api_key: SecretStr
    lease_id: str
    lease_expires_at: UtcDatetime
    replica_id: str | None = None

    @field_serializer("api_key", when_used="json")
    def _reveal_api_key(self, value: SecretStr) -> str:
        return value.get_secret_value()


class KeyAcquireResult(Contract):
    """The answer to `acquire`: exactly one of a lease, a cooldown end, or no keys.

    `outcome` says which: "lease" carries `lease`; "cooldown" carries `cooldown_until`
    (every key is cooling down: wait, it costs the job no retry); "no_keys" means no
    usable key is configured at all.
    """

    outcome: Literal["lease", "cooldown", "no_keys"]
    lease: KeyLease | None = None
    cooldown_until: UtcDatetime | None = None

    @model_validator(mode="after")
    def _check_outcome_fields(self) -> Self:
        expected = (self.outcome == "lease", self.outcome == "cooldown")
        if (self.lease is not None, self.cooldown_until is not None) != expected:
            raise ValueError(f"fields do not match outcome {self.outcome!r}")
        return self

    @classmethod
    def granted(cls, lease: KeyLease) -> KeyAcquireResult:
        """A result carrying `lease`."""
        return cls(outcome="lease", lease=lease)

    @classmethod
    def cooling_down(cls, until: datetime) -> KeyAcquireResult:
        """Every key is cooling down until `until`."""
        return cls(outcome="cooldown", cooldown_until=until)

    @classmethod
    def none_available(cls) -> KeyAcquireResult:
        """No usable key exists."""
        return cls(outcome="no_keys")


class KeyRelease(Contract):
    """worker → key-manager (`keys.release.<replica>`, else `keys.release`): the lease
    is done, with this outcome."""

    lease_id: str
    key_id: str
    outcome: ReleaseOutcome
    status_code: int | None = None
    job_id: str | None = None


class KeyEvent(Contract):
    """A ScraperAPI key changed state (`key.<event>` on `git44.events`)."""

    key_id: str
    event: str
    from_status: KeyStatus | None = None
    to_status: KeyStatus | None = None
    occurred_at: UtcDatetime = Field(default_factory=utc_now)
    cooldown_until: UtcDatetime | None = None


class AccountDeleted(Contract):
    """auth → jobs-api (`git44.jobs`, `account.deleted`): forget everything of `user_id`.

    Published, confirmed, before auth deletes the user, so a deletion that reached the
    client always reaches jobs-api (its queue is durable).
    """

    user_id: str
    deleted_at: UtcDatetime
    event_id: str = Field(default_factory=new_event_id)


# `SessionsEnded.reason` when the user's account is deleted: services forget the user
ACCOUNT_DELETED_REASON = "account_deleted"


class SessionsEnded(Contract):
    """auth → every service (`git44.sessions`, fanout): refuse these sessions' tokens.

    `session_ids` are the sessions that ended; `valid_after`, when set, ends every
    session of `user_id` that started before it (log out everywhere, password change,
    disabling), including tokens issued before sessions had ids.
    """

    user_id: str
    session_ids: list[str] = Field(default_factory=list)
    valid_after: UtcDatetime | None = None
    reason: str
    event_id: str = Field(default_factory=new_event_id)

    def covers(self, session_id: str | None, issued_at: int) -> bool:
        """Whether a token of `session_id` issued at `issued_at` (its `iat`) is ended."""
        if session_id is not None and session_id in self.session_ids:
            return True
        return self.valid_after is not None and issued_at < int(self.valid_after.timestamp())


class WebhookDeliveryRequested(Contract):
    """Deliver an event (`webhook.deliver`).

    Without `endpoint_id`: the ended job's state, to its callback URL, and fanned out
    to the user's endpoints that subscribe to it. With `endpoint_id`: one delivery to
    that registered endpoint, of `body` (the event as it happened; None: the ended
    job's state) under the `webhook-id` `msg_id` (None: `event_id`). `event_id` keys
    the attempts (one 2xx ends them); a redelivery gets its own (`<event>:r<n>`) and
    keeps the `webhook-id`. `job_id` is None for a ping.
    """

    # 2: a request a worker from before endpoints must not take for a callback's (it
    # refuses the version: dead-lettered, not sent to the wrong place)
    schema_version: Literal[1, 2] = 1  # type: ignore[assignment]
    job_id: str | None
    event_id: str
    attempt: Count = 0
    endpoint_id: str | None = None
    event_type: str | None = None
    body: str | None = None
    msg_id: str | None = None

    @property
    def webhook_id(self) -> str:
        return self.msg_id or self.event_id


class CallbackReceived(Contract):
    """jobs-api → workers (`callback.received` on `git44.events`): the provider called
    back for `job_id`'s task; the result is stored on the job (`callback`)."""

    job_id: str
    provider: str
    event_id: str = Field(default_factory=new_event_id)


class AccountNotice(Contract):
    """Something the owner of `user_id` must be told by mail (`account.notice`, to auth,
    which knows the address): `kind` names the mail, `context` fills it."""

    user_id: str
    kind: str
    context: dict[str, str] = Field(default_factory=dict)
    event_id: str = Field(default_factory=new_event_id)
