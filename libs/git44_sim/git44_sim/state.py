"""All simulator state, in memory, with no I/O.

Every method runs without awaiting, so on the single asyncio loop each one is atomic:
admission checks and counters never race.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from git44_sim.config import SimConfig
from git44_sim.mailbox import Mailbox
from git44_sim.records import Account, Admission, Rejection, SimStats, Task

# ScraperAPI charges only these target statuses.
CHARGED_STATUSES = frozenset({200, 404})
TASK_ERRORS = (
    "Watermark removal failed: the video could not be processed.",
    "Failed to download the source video from Sora.",
    "Processing timed out.",
)


DEFAULT_KIE_KEYS = ("kie-demo-key-1", "kie-demo-key-2")


class SimState:
    """Accounts, tasks, counters and config of one simulator process."""

    def __init__(
        self,
        *,
        keys: Iterable[str] = (),
        request_limit: int = 1000,
        concurrency_limit: int = 5,
        config: SimConfig | None = None,
        seed: int | None = None,
        kie_keys: Iterable[str] = DEFAULT_KIE_KEYS,
    ) -> None:
        # the second provider's API keys (kie.py): a bearer token each, no quota
        self.kie_keys = set(kie_keys)
        self.default_request_limit = request_limit
        self.default_concurrency_limit = concurrency_limit
        self.startup_config = (config or SimConfig()).copy()
        self.seed = seed
        self.config = self.startup_config.copy()
        self.accounts: dict[str, Account] = {}
        self.tasks: dict[str, Task] = {}
        self.stats = SimStats()
        self.rng = random.Random(seed)
        self._link_secret = secrets.token_bytes(32)  # signs download links
        self.mailbox = Mailbox()  # what the SMTP sink received; a reset keeps it
        self._create_accounts(
            keys, request_limit=request_limit, concurrency_limit=concurrency_limit
        )

    def _create_accounts(
        self, keys: Iterable[str], *, request_limit: int, concurrency_limit: int
    ) -> None:
        self.accounts = {
            key: Account(key, request_limit=request_limit, concurrency_limit=concurrency_limit)
            for key in keys
        }

    # --- control plane ---------------------------------------------------------------

    def put_account(
        self,
        api_key: str,
        *,
        request_limit: int | None = None,
        concurrency_limit: int | None = None,
        request_count: int | None = None,
    ) -> Account:
        """Create the key (with the start-up limits) or update the given fields."""
        account = self.accounts.get(api_key)
        if account is None:
            account = Account(
                api_key,
                request_limit=self.default_request_limit,
                concurrency_limit=self.default_concurrency_limit,
            )
            self.accounts[api_key] = account
        if request_limit is not None:
            account.request_limit = request_limit
        if concurrency_limit is not None:
            account.concurrency_limit = concurrency_limit
        if request_count is not None:
            account.request_count = request_count
        return account

    def delete_account(self, api_key: str) -> Account | None:
        return self.accounts.pop(api_key, None)

    def reset(
        self,
        *,
        keys: Iterable[str] | None = None,
        request_limit: int | None = None,
        concurrency_limit: int | None = None,
        keep_config: bool = False,
        seed: int | None = None,
    ) -> None:
        """Clear counters, tasks and stats; keep the keys unless `keys` replaces them.

        Limits go back to the start-up values unless given, the config to the start-up
        config unless `keep_config`, and the RNG is reseeded (with `seed`, else the
        start-up seed) so a run after a reset is reproducible. Requests still in flight
        finish on the old account objects, so they cannot corrupt the new counters.
        """
        self._create_accounts(
            list(self.accounts) if keys is None else keys,
            request_limit=self.default_request_limit if request_limit is None else request_limit,
            concurrency_limit=(
                self.default_concurrency_limit if concurrency_limit is None else concurrency_limit
            ),
        )
        self.tasks = {}
        self.stats = SimStats()
        if not keep_config:
            self.config = self.startup_config.copy()
        self.rng = random.Random(self.seed if seed is None else seed)

    # --- ScraperAPI ------------------------------------------------------------------

    def admit_request(self, api_key: str | None) -> Admission | Rejection:
        """Check key, credits and concurrency (in ScraperAPI's order) and take a slot."""
        account = self.accounts.get(api_key) if api_key else None
        if account is None:
            return self._reject(401, None)
        if account.request_count >= account.request_limit:
            return self._reject(403, account)
        if account.concurrent_requests >= account.concurrency_limit:
            return self._reject(429, account)
        account.concurrent_requests += 1
        stats = self.stats.for_key(account.api_key)
        stats.max_concurrent = max(stats.max_concurrent, account.concurrent_requests)
        return Admission(account, key_stats=stats, sim_stats=self.stats)

    def _reject(self, status: int, account: Account | None) -> Rejection:
        self.stats.served[status] += 1
        if account is not None:
            self.stats.for_key(account.api_key).statuses[status] += 1
        return Rejection(status, account)

    def draw_injected_failure(self) -> bool:
        """Whether this admitted request fails with an injected 500."""
        if self.config.fail_next_requests > 0:
            self.config.fail_next_requests -= 1
            return True
        return self.rng.random() < self.config.proxy_failure_rate

    def finish_request(self, admission: Admission, status: int | None) -> None:
        """Free the slot; charge 200/404, count anything else as failed.

        `status` is None when the request never produced a response (cancelled).
        """
        account, stats = admission.account, admission.key_stats
        account.concurrent_requests -= 1
        if status is None:
            return
        admission.sim_stats.served[status] += 1
        stats.statuses[status] += 1
        if status in CHARGED_STATUSES:
            account.request_count += 1
            stats.charged += 1
        else:
            account.failed_request_count += 1
            stats.failed += 1

    # --- RemoveSora ------------------------------------------------------------------

    def create_task(self, video_url: str, *, now: datetime | None = None) -> Task:
        """A task whose processing time and outcome are drawn now, at creation."""
        created_at = now or datetime.now(UTC)
        seconds = self.rng.uniform(self.config.processing_min_s, self.config.processing_max_s)
        failed = self.rng.random() < self.config.task_failure_rate
        task = Task(
            task_id=uuid.uuid4().hex,
            video_url=video_url,
            created_at=created_at,
            ready_at=created_at + timedelta(seconds=seconds),
            outcome="failed" if failed else "success",
            error=self.rng.choice(TASK_ERRORS) if failed else None,
        )
        self.tasks[task.task_id] = task
        self.stats.tasks_created += 1
        self.stats.tasks_by_video_url[video_url] += 1
        return task

    def poll_task(self, task_id: str) -> Task | None:
        task = self.tasks.get(task_id)
        if task is not None:
            task.polls += 1
            self.stats.polls += 1
        return task

    def sign_download(self, task_id: str, *, now: datetime) -> tuple[int, str]:
        """(expires, signature) of a download link issued `now` (unix seconds, hex HMAC)."""
        expires = int(now.timestamp() + self.config.download_link_ttl_s)
        return expires, self._download_signature(task_id, expires)

    def download_link_valid(
        self, task_id: str, expires: int, signature: str, *, now: datetime
    ) -> bool:
        """Whether a signed download link is genuine and not expired."""
        genuine = hmac.compare_digest(signature, self._download_signature(task_id, expires))
        return genuine and now.timestamp() < expires

    def _download_signature(self, task_id: str, expires: int) -> str:
        message = f"{task_id}:{expires}".encode()
        return hmac.new(self._link_secret, message, hashlib.sha256).hexdigest()[:32]

    def downloadable_task(self, task_id: str, *, now: datetime | None = None) -> Task | None:
        """The task if its clean video exists (succeeded and ready), else None."""
        task = self.tasks.get(task_id)
        if task is None or task.status_at(now or datetime.now(UTC)) != "success":
            return None
        return task
