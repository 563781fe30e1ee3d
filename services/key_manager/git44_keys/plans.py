"""What each key's ScraperAPI plan allows, read from ScraperAPI's `GET /account`
(free: it costs no credit) every `KEYS_ACCOUNT_CHECK_SECONDS`.

- A key whose credits left (`requestLimit - requestCount`) are within
  `KEYS_CREDIT_RESERVE` is limited before it runs out — the pool stops leasing it rather
  than wait for a 403 in the middle of a job (the reserve covers calls in flight).
- A key's concurrency is its plan's `concurrencyLimit`, capped by the admin's
  `maxConcurrency` (`PoolKey.from_doc`), so a replica never leases more than the plan
  admits (which would be answered 429).
- A 401 from `/account` disables the key, as one from the proxy does.

One replica checks a key per period: the check is claimed on the key's document
(`plan.checked_at`, compare-and-set), so replicas share the work.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx

from git44_common.clock import utc_now
from git44_common.contracts import KeyStatus
from git44_common.mongo import Database, Document
from git44_keys.crud import keys
from git44_keys.crypto import KeyCipher
from git44_keys.lifecycle import KeyLifecycle
from git44_keys.metrics import KEYS_PLAN_CHECKS
from git44_keys.pool import KeyPool
from git44_keys.state_machine import INVALID_KEY, disable

log = logging.getLogger(__name__)

ACCOUNT_TIMEOUT_SECONDS = 10.0


class PlanChecker:
    def __init__(
        self,
        db: Database,
        *,
        cipher: KeyCipher,
        lifecycle: KeyLifecycle,
        pool: KeyPool,
        scraperapi_url: str,
        every_seconds: float,
        credit_reserve: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._lifecycle = lifecycle
        self._pool = pool
        self._account_url = scraperapi_url.rstrip("/") + "/account"
        self._every = every_seconds
        self._reserve = credit_reserve
        # trust_env=False: an environment proxy must never see a ScraperAPI key
        self._http = httpx.AsyncClient(
            timeout=ACCOUNT_TIMEOUT_SECONDS, transport=transport, trust_env=False
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_due(self) -> int:
        """Check every key not checked within the period (claimed one by one); how many."""
        now = utc_now()
        checked = 0
        for key_id in await keys.key_ids(self._db, {"status": {"$ne": KeyStatus.DISABLED.value}}):
            doc = await keys.claim_plan_check(
                self._db, key_id, due_before=now - timedelta(seconds=self._every), now=now
            )
            if doc is None:
                continue  # checked recently, or another replica is at it
            await self._check(doc)
            checked += 1
        if checked:
            await self._pool.refresh_keys()
        return checked

    async def _check(self, doc: Document) -> None:
        key_id = str(doc["_id"])
        api_key = self._cipher.decrypt(str(doc["api_key_encrypted"]))
        try:
            response = await self._http.get(self._account_url, params={"api_key": api_key})
        except httpx.HTTPError as exc:
            KEYS_PLAN_CHECKS.labels("error").inc()
            log.warning("could not read key %s's plan: %s", key_id, type(exc).__name__)
            return
        if response.status_code == INVALID_KEY:
            KEYS_PLAN_CHECKS.labels("invalid").inc()
            status = KeyStatus(doc["status"])
            await self._lifecycle.disable_key(
                key_id, disable(status), reason="ScraperAPI /account answered 401: invalid key"
            )
            return
        try:
            body = response.json()
            plan = {
                "request_count": int(body["requestCount"]),
                "request_limit": int(body["requestLimit"]),
                "concurrency_limit": int(body["concurrencyLimit"]),
            }
        except (ValueError, KeyError, TypeError):
            KEYS_PLAN_CHECKS.labels("error").inc()
            log.warning("key %s's plan: unexpected answer %d", key_id, response.status_code)
            return
        await keys.store_plan(self._db, key_id, plan, now=utc_now())
        left = plan["request_limit"] - plan["request_count"]
        if left <= self._reserve and doc["status"] == KeyStatus.ACTIVE.value:
            KEYS_PLAN_CHECKS.labels("reserve").inc()
            await self._lifecycle.limit_key(
                key_id, reason=f"{left} credits left (reserve {self._reserve})"
            )
            return
        KEYS_PLAN_CHECKS.labels("ok").inc()


async def run_plan_checks(checker: PlanChecker, *, interval: float) -> None:
    """Forever: look for keys due a check every `interval` seconds (a tenth of the
    period, at most a minute); a failed round is logged and retried."""
    while True:
        try:
            await checker.check_due()
        except Exception:
            log.exception("checking the keys' plans failed; retrying")
        await asyncio.sleep(interval)
