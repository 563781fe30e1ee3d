"""The house rules hold: each collection is touched only by its owner's database module,
and no route imports a database module (tests/utils/layering.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.utils.layering import collection_violations, route_violations

ROOT = Path(__file__).resolve().parents[3]
JOBS_API = ROOT / "services/jobs_api/git44_jobs"
SERVICES = {
    "auth": ROOT / "services/auth/git44_auth",
    "jobs-api": JOBS_API,
    "key-manager": ROOT / "services/key_manager/git44_keys",
    "worker": ROOT / "services/worker/git44_worker",
}

# jobs-api: each collection it touches, and the one database module that may
JOBS_API_OWNERS = {
    "removal_jobs": "removals/crud.py",
    "user_quotas": "credits/crud.py",
    "idempotency_keys": "idempotency/crud.py",
    "api_rate_limits": "ratelimits/crud.py",
    "webhook_secrets": "webhooks/crud.py",
    "webhook_endpoints": "webhooks/crud.py",
    "webhook_deliveries": "webhooks/crud.py",  # the worker's; read for the export
    "result_cache": "results/crud.py",  # the worker's; read at submission, purged
    "sse_streams": "live/crud.py",
    "users": "admin/crud.py",
    "audit_log": "admin/crud.py",
    "dead_letters": "dead_letters/crud.py",
}


def _in_database_layer(module: str, collection: str) -> bool:
    """auth, key-manager, worker: their `crud/` package and `core/db.py` (indexes)."""
    return module.startswith("crud/") or module == "core/db.py"


def test_jobs_api_domains_touch_only_their_own_collections() -> None:
    allowed = lambda module, collection: JOBS_API_OWNERS.get(collection) == module  # noqa: E731
    assert collection_violations(JOBS_API, allowed=allowed) == []


@pytest.mark.parametrize("service", ["auth", "key-manager", "worker"])
def test_other_services_touch_collections_only_in_their_database_layer(service: str) -> None:
    assert collection_violations(SERVICES[service], allowed=_in_database_layer) == []


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_routes_import_no_database_module(service: str) -> None:
    assert route_violations(SERVICES[service]) == []


def test_the_checks_fail_when_a_rule_is_broken(tmp_path: Path) -> None:
    """A route that queries a collection itself breaks both rules; each check says so."""
    (tmp_path / "api/routes").mkdir(parents=True)
    (tmp_path / "removals").mkdir()
    (tmp_path / "removals/crud.py").write_text(
        "from git44_common.collections import REMOVAL_JOBS\n"
        "async def get(db): return await db[REMOVAL_JOBS].find_one({})\n"
    )
    (tmp_path / "api/routes/jobs.py").write_text(
        "from git44_jobs.removals import crud\n"
        "from pymongo import ReturnDocument\n"
        "async def read(ctx): return await ctx.db['removal_jobs'].find_one({})\n"
        "async def count(db): return await db.user_quotas.count_documents({})\n"
    )
    only_owner = lambda module, collection: JOBS_API_OWNERS.get(collection) == module  # noqa: E731
    assert collection_violations(tmp_path, allowed=only_owner) == [
        "api/routes/jobs.py:3 touches removal_jobs",
        "api/routes/jobs.py:4 touches user_quotas",
    ]
    assert route_violations(tmp_path) == [
        "api/routes/jobs.py:1 imports git44_jobs.removals.crud",
        "api/routes/jobs.py:2 imports pymongo",
        "api/routes/jobs.py:2 imports pymongo.ReturnDocument",
    ]
