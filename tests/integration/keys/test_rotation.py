"""Rotating `KEYS_ENCRYPTION_KEY` against the real database: keys stored under an older
entry keep serving while a new one is first, the rotation moves every key to the new
entry (ciphertext and fingerprint), and a key stays refused as a duplicate throughout."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from git44_common.collections import SCRAPER_KEYS
from git44_common.mongo import Database, ensure_indexes
from git44_keys.core.db import INDEXES
from git44_keys.crypto import KeyCipher
from git44_keys.exceptions import ScraperKeyExists
from git44_keys.rotation import Outcome, rotate_encryption_key
from tests.integration.keys.conftest import KeyManagerClient, StartKeyManager
from tests.utils.commands import run_module
from tests.utils.factories import scraper_key
from tests.utils.legacy_crypto import legacy_encrypt, legacy_fingerprint

pytestmark = pytest.mark.integration

OLD = "the-old-encryption-passphrase"
NEW = Fernet.generate_key().decode()
STORED_BEFORE = ("rot-key-aaaa-1111", "rot-key-bbbb-2222")
STORED_LEGACY = "rot-key-legacy-3333"


async def store_under_old_entries(db: Database) -> list[dict[str, Any]]:
    """Two keys stored under OLD as a key list, one from before key lists."""
    await ensure_indexes(db, INDEXES)
    old = KeyCipher(OLD)
    documents = [
        scraper_key(key, token=old.encrypt(key), fingerprint=old.fingerprint(key))
        for key in STORED_BEFORE
    ]
    documents.append(
        scraper_key(
            STORED_LEGACY,
            token=legacy_encrypt(OLD, STORED_LEGACY),
            fingerprint=legacy_fingerprint(OLD, STORED_LEGACY),
        )
    )
    await db[SCRAPER_KEYS].insert_many(documents)
    return documents


async def test_keys_under_older_entries_keep_serving_while_a_new_one_is_first(
    start_key_manager: StartKeyManager, client: KeyManagerClient, mongo_db: Database
) -> None:
    await store_under_old_entries(mongo_db)
    context = await start_key_manager(encryption_key=f"{NEW},{OLD}", seed_keys="")

    leases = [await client.lease(job_id=f"j{n}") for n in range(3)]
    leased = {lease.api_key.get_secret_value() for lease in leases}
    assert leased == {*STORED_BEFORE, STORED_LEGACY}
    for key in (*STORED_BEFORE, STORED_LEGACY):  # found under its old fingerprint
        with pytest.raises(ScraperKeyExists):
            await context.registry.add_key(key, label=None, max_concurrency=1, actor="t")
    assert await mongo_db[SCRAPER_KEYS].count_documents({}) == 3


async def test_the_rotation_moves_every_key_to_the_newest_entry(mongo_db: Database) -> None:
    await store_under_old_entries(mongo_db)

    report = await rotate_encryption_key(mongo_db, KeyCipher(f"{NEW},{OLD}"))

    assert (len(report.keys[Outcome.ROTATED]), report.complete) == (3, True)
    newest_only = KeyCipher(NEW)
    plain = set()
    async for stored in mongo_db[SCRAPER_KEYS].find():
        assert newest_only.is_current(stored["api_key_encrypted"])
        api_key = newest_only.decrypt(stored["api_key_encrypted"])
        assert stored["key_fingerprint"] == newest_only.fingerprint(api_key)
        plain.add(api_key)
    assert plain == {*STORED_BEFORE, STORED_LEGACY}
    again = await rotate_encryption_key(mongo_db, KeyCipher(f"{NEW},{OLD}"))
    assert (len(again.keys[Outcome.CURRENT]), again.complete) == (3, True)


async def test_a_key_left_behind_fails_the_command_and_is_named(
    mongo_db: Database, mongo_url: str, db_name: str
) -> None:
    first = (await store_under_old_entries(mongo_db))[0]
    twin = STORED_BEFORE[0]  # the same key again, under its pre-key-list fingerprint
    duplicate = scraper_key(
        twin, token=legacy_encrypt(OLD, twin), fingerprint=legacy_fingerprint(OLD, twin)
    )
    lost = scraper_key(
        "rot-key-lost-4444", token=legacy_encrypt("a dropped key", "x"), fingerprint="f"
    )
    await mongo_db[SCRAPER_KEYS].insert_many([duplicate, lost])

    env = {"MONGODB_URL": mongo_url, "MONGODB_DB": db_name, "KEYS_ENCRYPTION_KEY": f"{NEW},{OLD}"}
    result = await run_module("git44_keys", "rotate-encryption-key", env=env)

    assert result.returncode == 1, result
    assert "3 rotated, 0 current, 0 skipped, 1 duplicate, 1 unreadable" in result.stdout
    # whichever twin comes second cannot take the fingerprint the first now holds
    assert any(f"duplicate: {doc['_id']}" in result.stderr for doc in (first, duplicate))
    assert f"unreadable: {lost['_id']}" in result.stderr
