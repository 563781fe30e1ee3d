"""Authenticator against a real database: tokens, API keys, disabled and demoted users."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from git44_common.exceptions import Forbidden, TokenInvalid, Unauthorized
from git44_common.mongo import Database
from git44_common.security import Authenticator, generate_api_key, hash_api_key
from git44_common.tokens import JWKSClient, TokenVerifier
from tests.utils.tokens import TokenIssuer


@pytest.fixture
def authenticator(mongo_db: Database, token_issuer: TokenIssuer) -> Authenticator:
    verifier = TokenVerifier(
        JWKSClient(token_issuer.jwks_url), issuer="git44-auth", audience="git44"
    )
    return Authenticator(verifier=verifier, db=mongo_db, status_cache_seconds=0)


async def add_user(db: Database, user_id: str, *, role: str = "user") -> None:
    await db.users.insert_one({"_id": user_id, "role": role, "disabled": False})


async def test_a_valid_token_of_an_enabled_user_is_accepted(
    authenticator: Authenticator, mongo_db: Database, token_issuer: TokenIssuer
) -> None:
    await add_user(mongo_db, "u1")
    principal = await authenticator.from_bearer(f"Bearer {token_issuer.mint('u1')}")
    assert (principal.user_id, principal.role, principal.via) == ("u1", "user", "token")


async def test_missing_or_malformed_headers_are_401(authenticator: Authenticator) -> None:
    for header in (None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"):
        with pytest.raises(Unauthorized):
            await authenticator.from_bearer(header)


async def test_a_disabled_users_live_token_is_invalid_and_their_api_key_forbidden(
    authenticator: Authenticator, mongo_db: Database, token_issuer: TokenIssuer
) -> None:
    await add_user(mongo_db, "u1")
    token = token_issuer.mint("u1")
    key = generate_api_key()
    await mongo_db.api_keys.insert_one(
        {"user_id": "u1", "key_hash": hash_api_key(key), "revoked_at": None}
    )
    await authenticator.from_bearer(f"Bearer {token}")
    await authenticator.from_api_key(key)
    await mongo_db.users.update_one({"_id": "u1"}, {"$set": {"disabled": True}})
    with pytest.raises(TokenInvalid):
        await authenticator.from_bearer(f"Bearer {token}")
    with pytest.raises(Forbidden):
        await authenticator.from_api_key(key)


async def test_a_demoted_admin_loses_admin_rights_before_the_token_expires(
    authenticator: Authenticator, mongo_db: Database, token_issuer: TokenIssuer
) -> None:
    await add_user(mongo_db, "a1", role="admin")
    token = token_issuer.mint("a1", role="admin")
    assert (await authenticator.from_bearer(f"Bearer {token}")).is_admin
    await mongo_db.users.update_one({"_id": "a1"}, {"$set": {"role": "user"}})
    assert not (await authenticator.from_bearer(f"Bearer {token}")).is_admin


async def test_a_token_for_a_deleted_user_is_invalid(
    authenticator: Authenticator, token_issuer: TokenIssuer
) -> None:
    with pytest.raises(TokenInvalid):
        await authenticator.from_bearer(f"Bearer {token_issuer.mint('ghost')}")


async def test_api_keys_work_until_revoked_and_record_their_use(
    authenticator: Authenticator, mongo_db: Database
) -> None:
    await add_user(mongo_db, "u1")
    key = generate_api_key()
    await mongo_db.api_keys.insert_one(
        {
            "_id": "k1",
            "user_id": "u1",
            "key_hash": hash_api_key(key),
            "revoked_at": None,
            "last_used": None,
        }
    )
    principal = await authenticator.from_api_key(key)
    assert (principal.user_id, principal.api_key_id, principal.via) == ("u1", "k1", "api_key")
    assert (await mongo_db.api_keys.find_one({"_id": "k1"}))["last_used"] is not None
    await mongo_db.api_keys.update_one({"_id": "k1"}, {"$set": {"revoked_at": datetime.now(UTC)}})
    with pytest.raises(Unauthorized):
        await authenticator.from_api_key(key)
    for bad in (None, "", "g44_unknown", key + "x", "x" * 500):
        with pytest.raises(Unauthorized):
            await authenticator.from_api_key(bad)


async def test_an_api_key_stops_working_at_its_expiry(
    authenticator: Authenticator, mongo_db: Database
) -> None:
    await add_user(mongo_db, "u1")
    keys = {"soon": generate_api_key(), "past": generate_api_key(), "never": generate_api_key()}
    ends = {
        "soon": datetime.now(UTC) + timedelta(seconds=1),
        "past": datetime.now(UTC) - timedelta(seconds=1),
        "never": None,  # and keys stored before expiry existed have no field at all
    }
    for name, key in keys.items():
        record = {"_id": name, "user_id": "u1", "key_hash": hash_api_key(key), "revoked_at": None}
        await mongo_db.api_keys.insert_one({**record, "expires_at": ends[name]})
    assert (await authenticator.from_api_key(keys["soon"])).api_key_id == "soon"
    with pytest.raises(Unauthorized, match="expired"):
        await authenticator.from_api_key(keys["past"])
    await asyncio.sleep(1.1)
    with pytest.raises(Unauthorized, match="expired"):
        await authenticator.from_api_key(keys["soon"])
    assert (await authenticator.from_api_key(keys["never"])).api_key_id == "never"
