"""The audit log's read for admins: newest first, a page at a time behind opaque cursors,
filtered by actor, action, target and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from git44_common.audit import record_admin_action
from git44_common.mongo import Database
from tests.integration.jobs.support import Jobs, Users

URL = "/api/admin/audit-log"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def record(db: Database, *, actor: str, action: str, target: str, minute: int) -> None:
    await record_admin_action(
        db, service="jobs-api", actor=actor, action=action, target=target,
        before={"status": "failed", "seen_at": START}, after={"status": "queued"},
        at=START + timedelta(minutes=minute),
    )  # fmt: skip


async def read(jobs: Jobs, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await jobs.client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def every_page(jobs: Jobs, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await read(jobs, headers, **params, **({"cursor": cursor} if cursor else {}))
        entries += page["data"]
        cursor = page["nextCursor"]
        if cursor is None:
            return entries


async def test_only_admins_read_the_audit_log(jobs: Jobs, users: Users) -> None:
    user = await users.create()
    response = await jobs.client.get(URL, headers=users.bearer(user))
    assert response.status_code == 403


async def test_pages_follow_each_other_newest_first_without_gaps_or_repeats(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin = await users.create(role="admin")
    headers = users.bearer(admin, role="admin")
    for minute in range(5):
        await record(mongo_db, actor="a1", action="job.retry", target=f"j{minute}", minute=minute)
    # two entries of the same instant: the id breaks the tie, none is skipped
    await record(mongo_db, actor="a1", action="job.retry", target="j4b", minute=4)
    first = await read(jobs, headers, limit=2)
    assert len(first["data"]) == 2
    assert first["nextCursor"]
    entries = await every_page(jobs, headers, limit=2)
    assert len(entries) == 6
    assert len({entry["id"] for entry in entries}) == 6
    assert [entry["target"] for entry in entries][2:] == ["j3", "j2", "j1", "j0"]
    assert {entry["target"] for entry in entries[:2]} == {"j4", "j4b"}
    newest = entries[0]
    # snapshots are shown as stored, their times as ISO-8601 UTC
    assert newest["before"] == {"status": "failed", "seen_at": "2026-03-01T12:00:00.000Z"}
    assert newest["service"] == "jobs-api"


async def test_entries_are_filtered_by_actor_action_target_and_time(
    jobs: Jobs, users: Users, mongo_db: Database
) -> None:
    admin = await users.create(role="admin")
    headers = users.bearer(admin, role="admin")
    await record(mongo_db, actor="a1", action="job.retry", target="j1", minute=0)
    await record(mongo_db, actor="a2", action="job.retry", target="j2", minute=10)
    await record(mongo_db, actor="a1", action="quota.update", target="u1", minute=20)
    await record(mongo_db, actor="a2", action="dead_letter.replay", target="j1", minute=30)

    def targets(entries: list[dict[str, Any]]) -> list[str]:
        return [entry["target"] for entry in entries]

    assert targets(await every_page(jobs, headers, actor="a1")) == ["u1", "j1"]
    assert targets(await every_page(jobs, headers, action="job.retry")) == ["j2", "j1"]
    by_both = await every_page(jobs, headers, actor="a2", action="job.retry", limit=1)
    assert targets(by_both) == ["j2"]
    assert [e["action"] for e in await every_page(jobs, headers, target="j1")] == [
        "dead_letter.replay",
        "job.retry",
    ]
    window = {"since": (START + timedelta(minutes=10)).isoformat(),
              "until": (START + timedelta(minutes=30)).isoformat()}  # fmt: skip
    assert targets(await every_page(jobs, headers, **window)) == ["u1", "j2"]
    assert await every_page(jobs, headers, actor="nobody") == []


async def test_bad_input_is_a_problem_not_an_error(jobs: Jobs, users: Users) -> None:
    admin = await users.create(role="admin")
    headers = users.bearer(admin, role="admin")
    for params in [{"cursor": "garbage"}, {"since": "yesterday"}, {"limit": 0},
                   {"since": START.isoformat(), "until": START.isoformat()}]:  # fmt: skip
        response = await jobs.client.get(URL, params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
