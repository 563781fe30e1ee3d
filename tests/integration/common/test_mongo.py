"""The Mongo helpers against a real MongoDB-wire server."""

from __future__ import annotations

import pytest
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from git44_common.mongo import Database, IndexSpec, ensure_indexes, is_duplicate_key_error

EMAIL_UNIQUE = IndexSpec(
    collection="people", keys=[("email", ASCENDING)], name="email_unique", unique=True
)


async def test_index_creation_is_idempotent(mongo_db: Database) -> None:
    await ensure_indexes(mongo_db, [EMAIL_UNIQUE])
    await ensure_indexes(mongo_db, [EMAIL_UNIQUE])
    indexes = await mongo_db["people"].index_information()
    assert indexes["email_unique"]["unique"] is True


async def test_an_index_whose_options_changed_is_rebuilt(mongo_db: Database) -> None:
    plain = IndexSpec(collection="people", keys=[("email", ASCENDING)], name="email_unique")
    await ensure_indexes(mongo_db, [plain])
    await ensure_indexes(mongo_db, [EMAIL_UNIQUE])
    indexes = await mongo_db["people"].index_information()
    assert indexes["email_unique"].get("unique") is True


async def test_unique_index_violations_are_recognised(mongo_db: Database) -> None:
    await ensure_indexes(mongo_db, [EMAIL_UNIQUE])
    await mongo_db["people"].insert_one({"email": "a@example.com"})
    with pytest.raises(DuplicateKeyError) as caught:
        await mongo_db["people"].insert_one({"email": "a@example.com"})
    assert is_duplicate_key_error(caught.value)
    assert not is_duplicate_key_error(ValueError("x"))
