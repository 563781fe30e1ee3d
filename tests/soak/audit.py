"""The audit once faults stopped and the system settled: what must be zero, and the
figures around it.

- lost: a job the clients saw accepted (or any job of the soak's users) not terminal;
- double_charged / credits_lost: per user, `total − remaining` against the jobs still
  holding their charge (`charge: reserved`), summed;
- failed_by_fault: jobs that failed (the simulator fails no task in the soak, so every
  failure is a fault's);
- second_tasks: an upstream task created for a link while a task of that link, stored
  by one of its jobs, was live (tasks nobody stored are orphans: the gap ADR 0004
  accepts, counted apart);
- webhook_deliveries_missing: a terminal event a callback or endpoint wanted that the
  receivers never answered 2xx;
- sse_went_back: a job whose state went back within one SSE stream.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from git44_common.mongo import Database
from git44_sim.models import TaskInfo
from tests.soak.load import Actors, Ledger

TERMINAL = {"success", "failed", "cancelled"}
CALLBACK_EVENTS = {"success", "failed"}  # a job's callbackUrl hears these


async def audit(
    db: Database, actors: Actors, ledger: Ledger, tasks: list[TaskInfo]
) -> dict[str, Any]:
    users = {account.user_id for account in actors.users()}
    docs = await db["removal_jobs"].find({"user_id": {"$in": sorted(users)}}).to_list()
    jobs = {doc["_id"]: doc for doc in docs}
    lost = [
        j for j in set(ledger.accepted) | set(jobs) if jobs.get(j, {}).get("status") not in TERMINAL
    ]
    double, short = 0, 0
    for user in users:
        quota = await db["user_quotas"].find_one({"_id": user})
        charged = 0 if quota is None else quota["total_quota"] - quota["remaining_quota"]
        held = sum(1 for d in docs if d["user_id"] == user and d.get("charge") == "reserved")
        double += max(0, charged - held)
        short += max(0, held - charged)
    second, orphans = second_tasks(docs, tasks)
    missing = missing_webhooks(docs, actors)
    statuses = Counter(doc["status"] for doc in docs)
    zeros = {
        "lost": len(lost),
        "double_charged": double,
        "credits_lost": short,
        "failed_by_fault": statuses.get("failed", 0),
        "second_tasks": len(second),
        "webhook_deliveries_missing": len(missing),
        "sse_went_back": len(ledger.sse_went_back),
    }
    info = {
        "accepted (seen 202)": len(ledger.accepted),
        "jobs of the soak's users": len(docs),
        **{f"ended {status}": count for status, count in sorted(statuses.items())},
        "from the result cache": sum(1 for d in docs if d.get("cached")),
        "upstream tasks": len(tasks),
        "distinct links": len({d["input_link"] for d in docs}),
        "orphan tasks (ADR 0004)": orphans,
        "webhook events received": len(actors.receivers.delivered),
        "webhook answers refused while dark": actors.receivers.refused,
        "HTTP 500 answers seen by clients": ledger.counts.get("http_500", 0),
    }
    evidence = {"lost": sorted(lost)[:20], "second_tasks": second[:20], "missing": missing[:20]}
    evidence["sse_went_back"] = ledger.sse_went_back[:20]
    evidence["lost_states"] = dict(Counter(jobs.get(j, {}).get("status", "absent") for j in lost))
    return {"audit": zeros, "info": info, "evidence": evidence}


def second_tasks(docs: list[dict[str, Any]], tasks: list[TaskInfo]) -> tuple[list[str], int]:
    """Links that got a task while a stored task of theirs was live; the orphan count.

    With the result cache and single-flight, jobs of one link share its task: a link's
    stored tasks are those any of its jobs stored, each live from its creation to the
    end of the attempt that stored it."""
    by_link: dict[str, list[TaskInfo]] = {}
    for task in tasks:
        by_link.setdefault(task.video_url, []).append(task)
    stored: dict[str, dict[str, datetime | None]] = {}  # link -> task id -> attempt end
    for doc in docs:
        mine = stored.setdefault(doc["input_link"], {})
        for attempt in doc.get("attempts", []):
            if attempt.get("task_id"):
                mine[attempt["task_id"]] = attempt.get("ended_at")
        if doc.get("task_id") and doc["task_id"] not in mine:
            mine[doc["task_id"]] = None if doc["status"] not in TERMINAL else doc.get("updated_at")
    bad: list[str] = []
    orphans = 0
    for link, live in stored.items():
        created = {t.task_id: t.created_at for t in by_link.get(link, [])}
        windows = [(created[t], end) for t, end in live.items() if t in created]
        for task in by_link.get(link, []):
            if task.task_id in live:
                continue
            orphans += 1
            if any(_inside(task.created_at, start, end) for start, end in windows):
                bad.append(f"{link} task {task.task_id}")
    return bad, orphans


def missing_webhooks(docs: list[dict[str, Any]], actors: Actors) -> list[str]:
    """Terminal events wanted and never answered 2xx: (job, type) pairs."""
    got = {
        (e["_path"], e.get("data", {}).get("id"), e.get("type")) for e in actors.receivers.delivered
    }
    assert actors.callback_user is not None
    assert actors.endpoint_user is not None
    missing: list[str] = []
    for doc in docs:
        status, job_id = doc["status"], doc["_id"]
        if doc["user_id"] == actors.callback_user.user_id and status in CALLBACK_EVENTS:
            wanted = ("/callback", job_id, f"removal.{status}")
        elif doc["user_id"] == actors.endpoint_user.user_id and status in TERMINAL:
            wanted = ("/endpoint", job_id, f"removal.{status}")
        else:
            continue
        if wanted not in got:
            missing.append(f"{wanted[0]} {job_id} {wanted[2]}")
    return missing


def _inside(at: datetime, start: datetime, end: datetime | None) -> bool:
    at, start = _utc(at), _utc(start)
    return start < at and (end is None or at < _utc(end))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
