"""The admin HTTP API: masked keys only, admin-only, validated, audited, encrypted."""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from git44_common.clock import utc_now
from git44_common.collections import AUDIT_LOG, SCRAPER_KEYS, UPSTREAM_CIRCUITS
from git44_common.contracts import ReleaseOutcome
from git44_common.logs import RedactingFilter, json_formatter
from git44_common.mongo import Database
from tests.integration.keys.conftest import (
    SEED,
    KeyManagerClient,
    StartKeyManager,
    eventually,
    http_client,
)
from tests.utils.tokens import TokenIssuer

pytestmark = pytest.mark.integration

BASE = "/api/admin/scraper-keys"
NEW_KEY = "brand-new-scraper-key-0123456789"


@pytest.fixture
async def http(
    start_key_manager: StartKeyManager, mongo_db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    await start_key_manager(admin_status_cache_seconds=0)
    await mongo_db["users"].insert_many(
        [
            {"_id": "admin-1", "role": "admin", "disabled": False},
            {"_id": "admin-off", "role": "admin", "disabled": True},
            {"_id": "user-1", "role": "user", "disabled": False},
        ]
    )
    async with http_client(start_key_manager.apps[-1]) as client:
        yield client


@pytest.fixture
def admin(token_issuer: TokenIssuer) -> dict[str, str]:
    return token_issuer.bearer("admin-1", role="admin")


async def test_the_list_shows_only_masked_keys(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await http.get(BASE, headers=admin)
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 3
    assert body["nextCursor"] is None
    assert not any(plain in response.text for plain in SEED)
    first = body["data"][0]
    assert first["maskedKey"] == "ites…1111"
    assert {"id", "label", "status", "usageCount", "inFlight", "maxConcurrency"} <= set(first)


async def test_the_list_pages_with_a_cursor(http: httpx.AsyncClient, admin: dict[str, str]) -> None:
    page = (await http.get(BASE, params={"limit": 2}, headers=admin)).json()
    assert len(page["data"]) == 2
    rest = (await http.get(BASE, params={"cursor": page["nextCursor"]}, headers=admin)).json()
    ids = [k["id"] for k in page["data"] + rest["data"]]
    assert len(ids) == len(set(ids)) == 3
    bad = await http.get(BASE, params={"cursor": "garbage"}, headers=admin)
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer not-a-jwt"}, 401, "token_invalid"),
    ],
)
async def test_anonymous_callers_are_refused(
    http: httpx.AsyncClient, headers: dict[str, str], status: int, code: str
) -> None:
    response = await http.get(BASE, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("user_id", "role", "status", "code"),
    [
        ("user-1", "user", 403, "forbidden"),
        # disabling ended the admin's sessions: their token is no longer valid at all
        ("admin-off", "admin", 401, "token_invalid"),
    ],
)
async def test_non_admins_are_refused_everywhere(
    http: httpx.AsyncClient,
    token_issuer: TokenIssuer,
    user_id: str,
    role: str,
    status: int,
    code: str,
) -> None:
    headers = token_issuer.bearer(user_id, role=role)
    calls = [
        http.get(BASE, headers=headers),
        http.post(BASE, json={"apiKey": NEW_KEY}, headers=headers),
        http.get(f"{BASE}/summary", headers=headers),
        http.delete(f"{BASE}/x", headers=headers),
        http.post(f"{BASE}/x/reset", headers=headers),
    ]
    for call in calls:
        response = await call
        assert response.status_code == status, response.text
        assert response.json()["code"] == code


async def test_adding_a_key_stores_it_encrypted_and_audits_without_it(
    http: httpx.AsyncClient, admin: dict[str, str], mongo_db: Database
) -> None:
    body = {"apiKey": NEW_KEY, "label": "team A", "maxConcurrency": 7}
    response = await http.post(BASE, json=body, headers=admin)
    assert response.status_code == 201
    created = response.json()
    assert created["maskedKey"] == "bran…6789"
    assert (created["label"], created["maxConcurrency"], created["status"]) == (
        "team A",
        7,
        "active",
    )
    assert NEW_KEY not in response.text
    stored = await mongo_db[SCRAPER_KEYS].find_one({"_id": created["id"]})
    assert stored is not None
    assert NEW_KEY not in str(stored)
    entry = await mongo_db[AUDIT_LOG].find_one({"action": "scraper_key.add"})
    assert entry is not None
    assert (entry["actor"], entry["target"], entry["before"]) == ("admin-1", created["id"], None)
    assert entry["after"]["key_hint"] == "bran…6789"
    assert NEW_KEY not in str(entry)
    assert stored["api_key_encrypted"] not in str(entry)


async def test_a_duplicate_key_is_a_conflict(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await http.post(BASE, json={"apiKey": SEED[0]}, headers=admin)
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert SEED[0] not in response.text


@pytest.mark.parametrize(
    "api_key", ["k3y!", "x" * 129, "has whitespace inside", "tab\there-1234", "ключ-ключ-ключ"]
)
async def test_malformed_keys_are_422_without_echoing_them(
    http: httpx.AsyncClient, admin: dict[str, str], api_key: str
) -> None:
    response = await http.post(BASE, json={"apiKey": api_key}, headers=admin)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert api_key not in response.text


async def test_delete_removes_the_key_and_404s_after(
    http: httpx.AsyncClient, admin: dict[str, str], mongo_db: Database
) -> None:
    key_id = (await http.get(BASE, headers=admin)).json()["data"][0]["id"]
    assert (await http.delete(f"{BASE}/{key_id}", headers=admin)).status_code == 204
    assert await mongo_db[SCRAPER_KEYS].count_documents({"_id": key_id}) == 0
    again = await http.delete(f"{BASE}/{key_id}", headers=admin)
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"
    assert await mongo_db[AUDIT_LOG].count_documents({"action": "scraper_key.delete"}) == 1


async def test_reset_returns_a_limited_key_to_active_with_counters_cleared(
    http: httpx.AsyncClient, admin: dict[str, str], client: KeyManagerClient, mongo_db: Database
) -> None:
    lease = await client.lease()
    await client.release(lease, ReleaseOutcome.LIMITED, 403)

    async def limited() -> bool:
        key = await mongo_db[SCRAPER_KEYS].find_one({"_id": lease.key_id})
        return key is not None and key["status"] == "limited"

    await eventually(limited)
    response = await http.post(f"{BASE}/{lease.key_id}/reset", headers=admin)
    assert response.status_code == 200
    key = response.json()
    assert (key["status"], key["usageCount"], key["inFlight"]) == ("active", 0, 0)
    assert key["limitedAt"] is None
    assert key["cooldownUntil"] is None
    entry = await mongo_db[AUDIT_LOG].find_one({"action": "scraper_key.reset"})
    assert entry is not None
    assert (entry["before"]["status"], entry["after"]["status"]) == ("limited", "active")
    assert (await http.post(f"{BASE}/nope/reset", headers=admin)).status_code == 404


async def test_the_summary_counts_keys_by_state(
    http: httpx.AsyncClient, admin: dict[str, str], client: KeyManagerClient, mongo_db: Database
) -> None:
    summary = (await http.get(f"{BASE}/summary", headers=admin)).json()
    assert summary["total"] == 3
    assert summary["byState"] == {"active": 3, "limited": 0, "cooldown": 0, "disabled": 0}
    assert summary["cooldownUntil"] is None
    for _ in range(3):
        await client.release(await client.lease(), ReleaseOutcome.LIMITED, 403)

    async def cooling() -> bool:
        return await mongo_db[SCRAPER_KEYS].count_documents({"status": "cooldown"}) == 3

    await eventually(cooling)
    summary = (await http.get(f"{BASE}/summary", headers=admin)).json()
    assert summary["byState"]["cooldown"] == 3
    assert summary["cooldownUntil"] is not None


async def test_an_admin_changes_label_concurrency_and_enabled_audited(
    http: httpx.AsyncClient, admin: dict[str, str], client: KeyManagerClient, mongo_db: Database
) -> None:
    key_id = (await http.get(BASE, headers=admin)).json()["data"][0]["id"]
    changed = await http.patch(
        f"{BASE}/{key_id}", json={"label": "pool-9", "maxConcurrency": 2}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["label"], changed.json()["maxConcurrency"]) == ("pool-9", 2)
    assert "apiKey" not in changed.json()
    entry = await mongo_db[AUDIT_LOG].find_one({"action": "scraper_key.update", "target": key_id})
    assert entry is not None
    assert (entry["before"]["label"], entry["after"]["label"]) != ("pool-9", "pool-9")
    assert entry["after"]["max_concurrency"] == 2

    disabled = await http.patch(f"{BASE}/{key_id}", json={"enabled": False}, headers=admin)
    assert disabled.json()["status"] == "disabled"
    for _ in range(6):
        lease = await client.lease()
        assert lease.key_id != key_id
        await client.release(lease)
    enabled = await http.patch(f"{BASE}/{key_id}", json={"enabled": True}, headers=admin)
    assert enabled.json()["status"] == "active"
    assert await mongo_db[AUDIT_LOG].count_documents({"action": "scraper_key.update"}) == 3

    for body in ({}, {"maxConcurrency": 0}, {"label": ""}, {"enabled": None}, {"apiKey": "x"}):
        refused = await http.patch(f"{BASE}/{key_id}", json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
    missing = await http.patch(f"{BASE}/nope", json={"label": "x"}, headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_the_summary_shows_the_upstreams_circuit_breakers(
    http: httpx.AsyncClient, admin: dict[str, str], mongo_db: Database
) -> None:
    summary = (await http.get(f"{BASE}/summary", headers=admin)).json()
    assert [(c["upstream"], c["state"]) for c in summary["circuits"]] == [
        ("scraperapi", "closed"),
        ("removesora", "closed"),
        ("kie", "closed"),
    ]
    now = utc_now()
    await mongo_db[UPSTREAM_CIRCUITS].insert_one(
        {
            "_id": "scraperapi",
            "state": "open",
            "opened_at": now,
            "reason": "5 failures in a row",
            "next_probe_at": now + timedelta(seconds=10),
            "probe_seconds": 10.0,
            "probe_by": "worker-1",
            "probe_until": now + timedelta(seconds=80),
            "opened_count": 1,
        }
    )
    summary = (await http.get(f"{BASE}/summary", headers=admin)).json()
    scraperapi = summary["circuits"][0]
    assert (scraperapi["state"], scraperapi["reason"], scraperapi["openedCount"]) == (
        "half_open",
        "5 failures in a row",
        1,
    )
    assert scraperapi["nextProbeAt"] is not None


async def test_plaintext_keys_never_reach_the_logs(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    client: KeyManagerClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What the service writes: every logger (libraries' DEBUG frame dumps included)
    # through the same redacting handler configure_logging installs.
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(json_formatter())
    logging.getLogger().addHandler(handler)
    caplog.set_level(logging.DEBUG)
    try:
        await http.post(BASE, json={"apiKey": NEW_KEY}, headers=admin)
        await http.post(BASE, json={"apiKey": NEW_KEY}, headers=admin)  # the 409 path
        for _ in range(4):
            lease = await client.lease()
            await client.release(lease, ReleaseOutcome.LIMITED, 403)
        await eventually(lambda: _any_cooldown(client, http, admin))
    finally:
        logging.getLogger().removeHandler(handler)
    ours = [r for r in caplog.records if r.name.startswith("git44")]
    our_text = " ".join(f"{r.getMessage()} {r.__dict__}" for r in ours)
    assert "scraper key" in our_text  # transitions were logged...
    assert "[REDACTED]" in output.getvalue()  # ...and the libraries' dumps were scrubbed
    for plain in (*SEED, NEW_KEY):
        assert plain not in our_text  # our code never logs a key, even at DEBUG
        assert plain not in output.getvalue()


async def _any_cooldown(
    client: KeyManagerClient, http: httpx.AsyncClient, admin: dict[str, str]
) -> bool:
    summary = (await http.get(f"{BASE}/summary", headers=admin)).json()
    return bool(summary["byState"]["cooldown"])


async def test_in_flight_is_summed_over_the_replicas(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    start_key_manager: StartKeyManager,
    client: KeyManagerClient,
) -> None:
    """Leases live in each replica's memory; the list and the summary of either replica
    count them all (the other's as its last heartbeat reported them)."""
    await start_key_manager()
    leases = []
    while len({lease.replica_id for lease in leases}) < 2:
        assert len(leases) < 10, "one replica answered every acquire"
        leases.append(await client.lease())
    expected = Counter(lease.key_id for lease in leases)

    async def counted() -> bool:
        listing = (await http.get(BASE, headers=admin)).json()["data"]
        summary = (await http.get(f"{BASE}/summary", headers=admin)).json()
        by_key = {key["id"]: key["inFlight"] for key in listing if key["inFlight"]}
        return by_key == dict(expected) and summary["inFlight"] == len(leases)

    await eventually(counted)
    for lease in leases:
        await client.release(lease)

    async def idle() -> bool:
        return (await http.get(f"{BASE}/summary", headers=admin)).json()["inFlight"] == 0

    await eventually(idle)
