"""Applies the state machine to MongoDB: each transition is a compare-and-set on the
key's status, so with several replicas exactly one of them makes (and reports) it.

Every transition made is written to `key_events`, logged, counted and published as a
`KeyEvent` on `git44.events` (`key.<event>`; best effort: `key_events` is the record).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from git44_common.amqp import Publisher, PublishError, key_event_key
from git44_common.audit import record_admin_action
from git44_common.clock import utc_now
from git44_common.contracts import KeyEvent, KeyStatus
from git44_common.mongo import Database
from git44_keys.crud import key_events, keys
from git44_keys.metrics import KEYS_TRANSITIONS, set_keys_by_state
from git44_keys.state_machine import (
    COOL_DOWN,
    LIMIT,
    RECOVER,
    KeyEventName,
    Transition,
    cooldown_end,
    pool_exhausted,
)

log = logging.getLogger(__name__)


class KeyLifecycle:
    """State changes of keys: limit, pool cooldown, recovery, and their reporting."""

    def __init__(self, db: Database, publisher: Publisher, *, cooldown_seconds: float) -> None:
        self._db = db
        self._publisher = publisher
        self._cooldown_seconds = cooldown_seconds

    async def limit_key(self, key_id: str, *, reason: str) -> bool:
        """active → limited; then the whole pool cools down if no active key remains."""
        now = utc_now()
        changed = await self._apply(
            key_id, LIMIT, set_fields={"limited_at": now}, now=now, reason=reason
        )
        if changed:
            await self.cool_down_if_exhausted()
        return changed

    async def disable_key(self, key_id: str, transition: Transition, *, reason: str) -> bool:
        """→ disabled (ScraperAPI does not know the key): never leased or cycled again
        until an admin acts; audited as the service's own action."""
        now = utc_now()
        changed = await self._apply(key_id, transition, set_fields={}, now=now, reason=reason)
        if changed:
            await record_admin_action(
                self._db,
                service="key-manager",
                actor="key-manager",
                action="scraper_key.disable",
                target=key_id,
                before={"status": transition.source.value},
                after={"status": transition.target.value, "reason": reason},
                at=now,
            )
            await self.cool_down_if_exhausted()
        return changed

    async def cool_down_if_exhausted(self) -> datetime | None:
        """Every limited key → cooldown when no active key remains; the cooldown end."""
        counts = await keys.count_by_status(self._db)
        set_keys_by_state(counts)
        if not pool_exhausted(counts):
            return None
        now = utc_now()
        until = cooldown_end(now, self._cooldown_seconds)
        for key_id in await keys.key_ids(self._db, {"status": COOL_DOWN.source.value}):
            await self._apply(
                key_id,
                COOL_DOWN,
                set_fields={"cooldown_until": until},
                now=now,
                reason="no active key remains",
                cooldown_until=until,
            )
        await self._refresh_gauge()
        return until

    async def end_expired_cooldowns(self) -> int:
        """cooldown → active for every key whose cooldown is over; how many changed."""
        now = utc_now()
        query = {"status": RECOVER.source.value, "cooldown_until": {"$lte": now}}
        changed = 0
        for key_id in await keys.key_ids(self._db, query):
            changed += await self._apply(
                key_id,
                RECOVER,
                set_fields={"limited_at": None, "cooldown_until": None},
                now=now,
                reason="cooldown over",
                expected_extra={"cooldown_until": {"$lte": now}},
            )
        if changed:
            await self._refresh_gauge()
        return changed

    async def _apply(
        self,
        key_id: str,
        transition: Transition,
        *,
        set_fields: dict[str, Any],
        now: datetime,
        reason: str,
        cooldown_until: datetime | None = None,
        expected_extra: dict[str, Any] | None = None,
    ) -> bool:
        before = await keys.compare_and_set(
            self._db,
            key_id,
            expected={"status": transition.source.value, **(expected_extra or {})},
            update={"$set": {"status": transition.target.value, "updated_at": now, **set_fields}},
        )
        if before is None:
            return False  # another replica (or request) changed it first
        await self.report(
            key_id,
            transition.event,
            source=transition.source,
            target=transition.target,
            at=now,
            cooldown_until=cooldown_until,
            reason=reason,
        )
        return True

    async def report(
        self,
        key_id: str,
        event: KeyEventName,
        *,
        source: KeyStatus | None,
        target: KeyStatus | None,
        at: datetime,
        cooldown_until: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        """Record a key event in `key_events`, the log, the metrics and on the bus."""
        message = KeyEvent(
            key_id=key_id,
            event=event.value,
            from_status=source,
            to_status=target,
            occurred_at=at,
            cooldown_until=cooldown_until,
        )
        await key_events.insert_key_event(self._db, message, reason=reason)
        if source is not None and target is not None:
            KEYS_TRANSITIONS.labels(source.value, target.value).inc()
        log.info(
            "scraper key %s: %s",
            key_id,
            event.value,
            extra={"key_id": key_id, "from": source, "to": target, "reason": reason},
        )
        await self._publish(message)

    async def _publish(self, event: KeyEvent) -> None:
        try:
            await self._publisher.publish_event(key_event_key(event.event), event)
        except PublishError:
            log.warning("could not publish key event %s for %s", event.event, event.key_id)

    async def _refresh_gauge(self) -> None:
        set_keys_by_state(await keys.count_by_status(self._db))
