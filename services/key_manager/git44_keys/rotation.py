"""Re-encrypting every stored ScraperAPI key under the newest `KEYS_ENCRYPTION_KEY`
entry and recomputing its fingerprint (`python -m git44_keys rotate-encryption-key`).

Each key is rewritten by one compare-and-set on its old ciphertext, so the command is
safe to re-run, and to run beside replicas that serve meanwhile — once every one of
them holds the new key list, since they must decrypt what it writes. A key already
under the newest key with its newest fingerprint is left as it is. Once a run reports
every key `rotated` or `current`, the older entries can be dropped from the setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from git44_common.mongo import Database, Document, is_duplicate_key_error
from git44_keys.crud import keys
from git44_keys.crypto import KeyCipher
from git44_keys.exceptions import KeyDecryptionError


class Outcome(StrEnum):
    ROTATED = "rotated"
    CURRENT = "current"  # already under the newest key
    SKIPPED = "skipped"  # changed or deleted while the command ran: run it again
    DUPLICATE = "duplicate"  # the same key is stored under another id: delete one of them
    UNREADABLE = "unreadable"  # no configured entry opens it: keep the one that did


_DONE = frozenset({Outcome.ROTATED, Outcome.CURRENT})


@dataclass
class RotationReport:
    """The ids of the stored keys by what the rotation did to them."""

    keys: dict[Outcome, list[str]] = field(default_factory=lambda: {o: [] for o in Outcome})

    def left_behind(self) -> dict[Outcome, list[str]]:
        """The keys not under the newest key and fingerprint yet, by why."""
        return {outcome: ids for outcome, ids in self.keys.items() if ids and outcome not in _DONE}

    @property
    def complete(self) -> bool:
        return not self.left_behind()

    def summary(self) -> str:
        return ", ".join(f"{len(ids)} {outcome}" for outcome, ids in self.keys.items())


async def rotate_encryption_key(db: Database, cipher: KeyCipher) -> RotationReport:
    """Bring every stored key under the newest entry of the cipher's key list."""
    report = RotationReport()
    for stored in await keys.stored_ciphertexts(db):
        report.keys[await _rotate_one(db, cipher, stored)].append(str(stored["_id"]))
    return report


async def _rotate_one(db: Database, cipher: KeyCipher, stored: Document) -> Outcome:
    token = str(stored["api_key_encrypted"])
    try:
        api_key = cipher.decrypt(token)
    except KeyDecryptionError:
        return Outcome.UNREADABLE
    fingerprint = cipher.fingerprint(api_key)
    if cipher.is_current(token) and stored.get("key_fingerprint") == fingerprint:
        return Outcome.CURRENT
    try:
        replaced = await keys.replace_ciphertext(
            db,
            str(stored["_id"]),
            old_token=token,
            token=cipher.encrypt(api_key),
            fingerprint=fingerprint,
        )
    except Exception as exc:
        if is_duplicate_key_error(exc):
            return Outcome.DUPLICATE
        raise
    return Outcome.ROTATED if replaced else Outcome.SKIPPED
