"""Adding, removing and resetting keys (admin API and start-up seeding).

Admin actions are written to `audit_log` with before/after snapshots that hold only
the masked key, never the key or its ciphertext.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from git44_common.audit import record_admin_action
from git44_common.clock import utc_now
from git44_common.contracts import KeyStatus
from git44_common.logs import register_secret
from git44_common.mongo import Database, Document, is_duplicate_key_error
from git44_keys.crud import circuits, keys
from git44_keys.crypto import KeyCipher, mask_key
from git44_keys.exceptions import ScraperKeyChanged, ScraperKeyExists, ScraperKeyNotFound
from git44_keys.lifecycle import KeyLifecycle
from git44_keys.pool import KeyPool
from git44_keys.state_machine import KeyEventName

log = logging.getLogger(__name__)

_ALREADY_THERE = "This ScraperAPI key is already in the pool."
_SNAPSHOT_FIELDS = ("label", "key_hint", "status", "usage_count", "max_concurrency")


def snapshot(key: Document | None) -> dict[str, Any] | None:
    """What the audit log keeps of a key: masked, no secret material."""
    return None if key is None else {name: key.get(name) for name in _SNAPSHOT_FIELDS}


@dataclass(frozen=True)
class KeysSummary:
    by_state: dict[KeyStatus, int]
    in_flight: int
    cooldown_until: datetime | None


class KeyRegistry:
    """The admin's view of the pool: keys are stored in MongoDB; `in_flight` is summed
    over the replicas (their leases live in memory, ADR 0010)."""

    def __init__(
        self, db: Database, *, cipher: KeyCipher, lifecycle: KeyLifecycle, pool: KeyPool
    ) -> None:
        self._db = db
        self._cipher = cipher
        self._lifecycle = lifecycle
        self._pool = pool

    def new_key_document(
        self, api_key: str, *, label: str | None, max_concurrency: int
    ) -> Document:
        register_secret(api_key)  # from now on this process's logs redact it
        now = utc_now()
        hint = mask_key(api_key)
        return {
            "_id": uuid.uuid4().hex,
            "label": label or hint,
            "key_hint": hint,
            "api_key_encrypted": self._cipher.encrypt(api_key),
            "key_fingerprint": self._cipher.fingerprint(api_key),
            "status": KeyStatus.ACTIVE.value,
            "usage_count": 0,
            "max_concurrency": max_concurrency,
            "last_used": None,
            "limited_at": None,
            "cooldown_until": None,
            "created_at": now,
            "updated_at": now,
        }

    async def add_key(
        self, api_key: str, *, label: str | None, max_concurrency: int, actor: str
    ) -> Document:
        """Add a key to the pool (an audited admin action); ScraperKeyExists if present."""
        document = await self._insert(
            api_key, label=label, max_concurrency=max_concurrency, reason=f"added by {actor}"
        )
        await self._audit(document["_id"], "scraper_key.add", actor, None, document)
        await self._pool.heartbeat()  # this replica leases it at once, the others soon
        return {**document, "in_flight": 0}

    async def seed_keys(self, api_keys: list[str], *, max_concurrency: int) -> int:
        """Add the keys not in the pool yet (idempotent; safe with concurrent replicas)."""
        added = 0
        for api_key in api_keys:
            try:
                await self._insert(
                    api_key, label=None, max_concurrency=max_concurrency, reason="seeded"
                )
                added += 1
            except ScraperKeyExists:
                continue
        if added:
            log.info("seeded %d ScraperAPI key(s)", added)
        return added

    async def _insert(
        self, api_key: str, *, label: str | None, max_concurrency: int, reason: str
    ) -> Document:
        document = self.new_key_document(api_key, label=label, max_concurrency=max_concurrency)
        # The unique index sees only the newest fingerprint; a key added before the
        # newest encryption key may still carry an older one until the rotation.
        if await keys.fingerprint_taken(self._db, self._cipher.fingerprints(api_key)):
            raise ScraperKeyExists(_ALREADY_THERE)
        try:
            await keys.insert_key(self._db, document)
        except Exception as exc:
            if is_duplicate_key_error(exc):
                raise ScraperKeyExists(_ALREADY_THERE) from None
            raise
        await self._lifecycle.report(
            document["_id"], KeyEventName.ADDED, source=None, target=KeyStatus.ACTIVE,
            at=document["created_at"], reason=reason,
        )  # fmt: skip
        return document

    async def list_keys(
        self, *, cursor: str | None, limit: int
    ) -> tuple[list[Document], str | None]:
        """A page of the pool's keys, oldest first, with their leases in flight, and the
        next page's cursor."""
        page, next_cursor = await keys.list_keys(self._db, cursor=cursor, limit=limit)
        in_flight = await self._pool.in_flight_by_key()
        return [{**key, "in_flight": in_flight.get(key["_id"], 0)} for key in page], next_cursor

    async def summarize(self) -> KeysSummary:
        """Counts by state, leases in flight and, while the pool cools down, when it ends."""
        in_flight = await self._pool.in_flight_by_key()
        by_state = await keys.count_by_status(self._db)
        known = set(await keys.key_ids(self._db, {}))
        return KeysSummary(
            by_state=by_state,
            in_flight=sum(n for key_id, n in in_flight.items() if key_id in known),
            cooldown_until=await keys.earliest_cooldown_end(self._db),
        )

    async def circuits(self) -> dict[str, Document]:
        """The upstreams' circuit breakers as the workers share them, by upstream."""
        return {str(doc["_id"]): doc for doc in await circuits.all_circuits(self._db)}

    async def delete_key(self, key_id: str, *, actor: str) -> None:
        before = await keys.delete_key(self._db, key_id)
        if before is None:
            raise ScraperKeyNotFound()
        await self._pool.refresh_keys()  # leased no more here; its leases in flight end
        await self._audit(key_id, "scraper_key.delete", actor, before, None)
        await self._lifecycle.report(
            key_id, KeyEventName.DELETED, source=KeyStatus(before["status"]), target=None,
            at=utc_now(), reason=f"deleted by {actor}",
        )  # fmt: skip

    async def update_key(
        self,
        key_id: str,
        *,
        actor: str,
        label: str | None = None,
        max_concurrency: int | None = None,
        enabled: bool | None = None,
    ) -> Document:
        """Change a key's label, max_concurrency or enabled state (audited); enabling a
        disabled key makes it active, disabling takes it out of the pool at once."""
        current = await keys.get_key(self._db, key_id)
        if current is None:
            raise ScraperKeyNotFound()
        now = utc_now()
        fields: Document = {"updated_at": now}
        if label is not None:
            fields["label"] = label
        if max_concurrency is not None:
            fields["max_concurrency"] = max_concurrency
        source = KeyStatus(current["status"])
        target = source
        if enabled is False and source is not KeyStatus.DISABLED:
            target = KeyStatus.DISABLED
        elif enabled is True and source is KeyStatus.DISABLED:
            target = KeyStatus.ACTIVE
            fields.update(limited_at=None, cooldown_until=None)
        fields["status"] = target.value
        expected = {"status": source.value}
        before = await keys.compare_and_set(
            self._db, key_id, expected=expected, update={"$set": fields}
        )
        if before is None:
            raise ScraperKeyChanged()
        after = await keys.get_key(self._db, key_id) or before
        await self._audit(key_id, "scraper_key.update", actor, before, after)
        if target is not source:
            event = KeyEventName.DISABLED if target is KeyStatus.DISABLED else KeyEventName.RESET
            await self._lifecycle.report(
                key_id, event, source=source, target=target, at=now,
                reason=f"{'disabled' if enabled is False else 'enabled'} by {actor}",
            )  # fmt: skip
        await self._pool.refresh_keys()
        in_flight = await self._pool.in_flight_by_key()
        return {**after, "in_flight": in_flight.get(key_id, 0)}

    async def reset_key(self, key_id: str, *, actor: str) -> Document:
        """→ active with its usage count cleared (its leases in flight stay counted)."""
        now = utc_now()
        update = {
            "$set": {
                "status": KeyStatus.ACTIVE.value,
                "usage_count": 0,
                "limited_at": None,
                "cooldown_until": None,
                "updated_at": now,
            }
        }
        before = await keys.compare_and_set(self._db, key_id, expected={}, update=update)
        if before is None:
            raise ScraperKeyNotFound()
        after = await keys.get_key(self._db, key_id) or before
        await self._audit(key_id, "scraper_key.reset", actor, before, after)
        await self._lifecycle.report(
            key_id, KeyEventName.RESET, source=KeyStatus(before["status"]),
            target=KeyStatus.ACTIVE, at=now, reason=f"reset by {actor}",
        )  # fmt: skip
        await self._pool.refresh_keys()  # leased again here at once, the others soon
        in_flight = await self._pool.in_flight_by_key()
        return {**after, "in_flight": in_flight.get(key_id, 0)}

    async def _audit(
        self, key_id: str, action: str, actor: str, before: Document | None, after: Document | None
    ) -> None:
        await record_admin_action(
            self._db,
            service="key-manager",
            actor=actor,
            action=action,
            target=key_id,
            before=snapshot(before),
            after=snapshot(after),
            at=utc_now(),
        )
