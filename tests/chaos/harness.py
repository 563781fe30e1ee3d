"""The fault-injection harness: the whole backend as real processes (`make chaos`).

Each scenario starts its own LocalStack (own database and AMQP namespace, free ports),
a steady submission load from one user, breaks something, lets the system settle and
then audits the database and the simulator:

- every accepted (202) job reached a terminal state (else it is `lost`);
- the user's credits: `total - remaining` equals the jobs whose `charge` is still
  `reserved` (more is `double-charged`, less is a credit lost);
- no job got a second upstream task while the attempt that stored a `task_id` was
  open (the simulator's tasks, grouped by `videoUrl`, one unique link per job).

Each scenario records a row in `bench-results/chaos.json` and the table is printed at
the end of the run. The shared broker on 5672 is never stopped: the broker outage runs
on a private RabbitMQ node (`PrivateRabbit`), the database restart on the stack's own
SecantusDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from localstack import (
    DEMO_SCRAPER_KEYS,
    SERVICES,
    LocalStack,
    ManagedProcess,
    free_port,
    port_open,
    secantus_command,
    wait_for_port,
)

from git44_common.mongo import Database, create_mongo_client
from git44_sim.client import SimControl
from tests.utils.accounts import register_user
from tests.utils.stack import RAISED_LIMITS, running_stack

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(os.environ.get("GIT44_CHAOS_RESULTS", REPO / "bench-results" / "chaos.json"))
TERMINAL = {"success", "failed", "cancelled"}
WORKER = next(spec for spec in SERVICES if spec.name == "worker")
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
RABBITMQCTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
HTTP_SERVICES = ("auth", "jobs-api", "key-manager", "worker")

# Real behaviour on short clocks; a quota big enough for every scenario's load.
CHAOS_ENV = {
    **RAISED_LIMITS,
    "GIT44_ENV": "test",
    "AUTH_BCRYPT_ROUNDS": "4",
    "JOBS_DEFAULT_TOTAL_QUOTA": "5000",
    "JOBS_DEFAULT_DAILY_LIMIT": "5000",
    "JOBS_OUTBOX_INTERVAL_SECONDS": "0.5",
    "JOBS_OUTBOX_GRACE_SECONDS": "1",
    "WORKER_CONCURRENCY": "4",
    "WORKER_POLL_MIN_SECONDS": "0.4",
    "WORKER_POLL_MAX_SECONDS": "0.7",
    "WORKER_RETRY_BACKOFF_SECONDS": "0.5",
    "WORKER_RETRY_BACKOFF_FACTOR": "1",
    "WORKER_LEASE_SECONDS": "3",
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_KEY_WAIT_SECONDS": "3",
    "WORKER_KEY_UNAVAILABLE_DELAY_SECONDS": "2",
}
SIM_ARGS = ("--keys", ",".join(DEMO_SCRAPER_KEYS), "--processing-seconds", "0.8-2.0")


# --------------------------------------------------------------------------------------
# Results


@dataclass
class Row:
    scenario: str
    trials: int
    accepted: int
    completed: int
    lost: int
    double_charged: int
    credits_lost: int = 0
    failed: int = 0
    refused: int = 0
    second_tasks: int = 0
    orphan_tasks: int = 0
    seconds: float = 0.0
    notes: str = ""


def record(row: Row) -> None:
    """Merge `row` into the results file (one row per scenario, the last run wins)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    rows: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, ValueError):
        rows = json.loads(RESULTS.read_text())["scenarios"]
    rows[row.scenario] = {**asdict(row), "at": datetime.now(UTC).isoformat(timespec="seconds")}
    meta = {"machine": f"{os.cpu_count()} cores", "database": "SecantusDB", "broker": "RabbitMQ"}
    RESULTS.write_text(json.dumps({"meta": meta, "scenarios": rows}, indent=2) + "\n")
    print("\n" + table([row]))


def table(rows: Sequence[Row | Mapping[str, Any]]) -> str:
    cols = ("scenario", "trials", "accepted", "completed", "lost", "double_charged",
            "credits_lost", "failed", "second_tasks", "orphan_tasks")  # fmt: skip
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows:
        data = asdict(row) if isinstance(row, Row) else row
        lines.append("| " + " | ".join(str(data[c]) for c in cols) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Private servers


class PrivateRabbit:
    """A RabbitMQ node of our own (name, ports, data under `base`): stopping it never
    touches the machine's broker. Restarted on the same data dir, durable queues stay."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.node = f"chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port = free_port(), free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.proc: ManagedProcess | None = None
        base.mkdir(parents=True, exist_ok=True)
        (base / "empty.conf").write_text("")
        (base / "enabled_plugins").write_text("[].\n")
        (base / "rabbitmq.conf").write_text("loopback_users = none\n")

    def env(self) -> dict[str, str]:
        b = str(self.base)
        return {
            "HOME": b,  # the node's and rabbitmqctl's Erlang cookie
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONF_ENV_FILE": f"{b}/empty.conf",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": f"{b}/mnesia",
            "RABBITMQ_LOG_BASE": f"{b}/log",
            "RABBITMQ_PID_FILE": f"{b}/rabbit.pid",
            "RABBITMQ_CONFIG_FILE": f"{b}/rabbitmq.conf",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{b}/enabled_plugins",
        }

    def start(self, timeout: float = 90.0) -> None:
        args = [RABBITMQ_SERVER]
        self.proc = ManagedProcess(f"rabbit-{self.port}", args, env=self.env(), log_dir=self.base)
        self.proc.start()
        wait_for_port("127.0.0.1", self.port, timeout=timeout)

    def stop(self) -> None:
        """Stop the node (rabbitmqctl), then make sure its process group is gone."""
        ctl = [RABBITMQCTL, "-n", self.node, "stop"]
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(ctl, env={**os.environ, **self.env()}, timeout=60, check=False,
                           capture_output=True)  # fmt: skip
        if self.proc is not None and self.proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.kill()
        deadline = time.monotonic() + 30
        while port_open("127.0.0.1", self.port) and time.monotonic() < deadline:
            time.sleep(0.2)


def restart_database(stack: LocalStack, *, down_for: float = 0.0) -> ManagedProcess:
    """kill -9 the stack's own SecantusDB and start it again on the same port and
    storage directory (what a crashed and restarted database server looks like)."""
    old = stack.processes["secantusdb"]
    old.kill()
    time.sleep(down_for)
    port = stack.ports["mongo"]
    command = secantus_command(port, str(stack.data_dir / "mongo"))
    proc = ManagedProcess("secantusdb", command, log_dir=stack.data_dir).start()
    stack.processes["secantusdb"] = proc
    wait_for_port("127.0.0.1", port, timeout=60)
    return proc


def chaos_stack(
    tmp_path: Path,
    *,
    amqp_url: str,
    mongo_url: str | None,
    extra_env: Mapping[str, str] | None = None,
    sim_args: Sequence[str] = SIM_ARGS,
    cleanup_amqp: bool = True,
) -> AbstractContextManager[LocalStack]:
    """The four services + simulator; `mongo_url=None` gives the stack its own
    SecantusDB with a storage directory (it survives a restart)."""
    return running_stack(
        mongo_url=mongo_url,
        amqp_url=amqp_url,
        data_dir=tmp_path / "stack",
        tag="chaos",
        extra_env={**CHAOS_ENV, **(extra_env or {})},
        sim_args=sim_args,
        cleanup_amqp=cleanup_amqp,
    )


# --------------------------------------------------------------------------------------
# Load and audit


@dataclass
class Load:
    """One user submitting a job (a unique link each) every `every` seconds."""

    stack: LocalStack
    http: httpx.AsyncClient
    token: str
    user_id: str
    every: float = 0.5
    accepted: list[str] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def register(cls, stack: LocalStack, http: httpx.AsyncClient, **kw: Any) -> Load:
        user_id, token = await register_user(http, stack.url("auth"), prefix="chaos")
        return cls(stack, http, token, user_id, **kw)

    async def submit_one(self) -> int:
        link = f"https://sora.chatgpt.com/p/s_{uuid.uuid4().hex}"
        started = time.monotonic()
        try:
            response = await self.http.post(
                f"{self.stack.url('jobs-api')}/api/removal",
                json={"inputLink": link},
                headers={"Authorization": f"Bearer {self.token}"},
            )
        except httpx.HTTPError:
            self.errors += 1
            return 0
        self.latencies.append((started, time.monotonic() - started))
        if response.status_code == 202:
            self.accepted.append(response.json()["id"])
        else:
            self.refused[response.status_code] = self.refused.get(response.status_code, 0) + 1
        return response.status_code

    def slowest(self, since: float, until: float) -> float:
        """The longest submission started in [since, until], in seconds."""
        return max((s for at, s in self.latencies if since <= at <= until), default=0.0)

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await self.submit_one()
            await asyncio.sleep(max(0.0, self.every - (time.monotonic() - started)))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def database(stack: LocalStack) -> Any:
    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="chaos-audit")
    try:
        yield client[stack.mongodb_db]
    finally:
        await client.close()


async def wait_terminal(db: Database, job_ids: list[str], *, within: float) -> None:
    """Until every job is terminal or `within` seconds passed (the audit says which)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            done = await db["removal_jobs"].count_documents(
                {"_id": {"$in": job_ids}, "status": {"$in": sorted(TERMINAL)}}
            )
            if done == len(job_ids):
                return
        await asyncio.sleep(1.0)


async def readiness(stack: LocalStack, name: str) -> int:
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        try:
            return (await http.get(f"{stack.url(name)}/readyz")).status_code
        except httpx.HTTPError:
            return 0


async def readiness_checks(stack: LocalStack, name: str) -> dict[str, str]:
    """The per-dependency verdicts of a service's `/readyz` ({} when it does not answer)."""
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        try:
            return dict((await http.get(f"{stack.url(name)}/readyz")).json()["checks"])
        except (httpx.HTTPError, ValueError, KeyError):
            return {}


async def all_ready(stack: LocalStack, names: Sequence[str] = HTTP_SERVICES) -> dict[str, int]:
    codes = await asyncio.gather(*(readiness(stack, name) for name in names))
    return dict(zip(names, codes, strict=True))


async def wait_ready(stack: LocalStack, names: Sequence[str], *, within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    while True:
        codes = await all_ready(stack, names)
        if set(codes.values()) == {200} or time.monotonic() > deadline:
            return codes
        await asyncio.sleep(0.5)


@dataclass
class Audit:
    jobs: dict[str, dict[str, Any]]
    statuses: dict[str, int]
    lost: list[str]
    charged: int
    reserved: int
    second_tasks: list[str]
    orphan_tasks: int

    def row(self, scenario: str, trials: int, load: Load, seconds: float, notes: str) -> Row:
        return Row(
            scenario=scenario,
            trials=trials,
            accepted=len(load.accepted),
            completed=len(load.accepted) - len(self.lost),
            lost=len(self.lost),
            double_charged=max(0, self.charged - self.reserved),
            credits_lost=max(0, self.reserved - self.charged),
            failed=self.statuses.get("failed", 0),
            refused=sum(load.refused.values()) + load.errors,
            second_tasks=len(self.second_tasks),
            orphan_tasks=self.orphan_tasks,
            seconds=round(seconds, 1),
            notes=notes,
        )


async def audit(stack: LocalStack, db: Database, load: Load) -> Audit:
    docs = await db["removal_jobs"].find({"user_id": load.user_id}).to_list()
    jobs = {doc["_id"]: doc for doc in docs}
    statuses: dict[str, int] = {}
    for doc in docs:
        statuses[doc["status"]] = statuses.get(doc["status"], 0) + 1
    lost = [j for j in load.accepted if j not in jobs or jobs[j]["status"] not in TERMINAL]
    quota = await db["user_quotas"].find_one({"_id": load.user_id})
    charged = 0 if quota is None else quota["total_quota"] - quota["remaining_quota"]
    reserved = sum(1 for doc in docs if doc.get("charge") == "reserved")
    async with SimControl(stack.url("sim")) as sim:
        tasks = await sim.tasks()
    second, orphans = second_tasks(docs, tasks)
    return Audit(jobs, statuses, lost, charged, reserved, second, orphans)


def second_tasks(docs: list[dict[str, Any]], tasks: list[Any]) -> tuple[list[str], int]:
    """Jobs that got an upstream task while one of theirs, already stored, was live.

    A task whose id no attempt stored is an orphan (the worker died between
    RemoveSora's answer and saving the id: ADR 0004 accepts that). An orphan created
    inside the window of a stored task (its creation to the end of its attempt) means
    a second task for a job whose `task_id` was stored: that is the violation.
    """
    by_link: dict[str, list[Any]] = {}
    for task in tasks:
        by_link.setdefault(task.video_url, []).append(task)
    bad: list[str] = []
    orphans = 0
    for doc in docs:
        mine = by_link.get(doc["input_link"], [])
        stored = {a["task_id"]: a for a in doc.get("attempts", []) if a.get("task_id")}
        if doc.get("task_id") and doc["task_id"] not in stored:
            stored[doc["task_id"]] = {"ended_at": None}
        created = {t.task_id: t.created_at for t in mine}
        windows = [(created[t], a.get("ended_at")) for t, a in stored.items() if t in created]
        for task in mine:
            if task.task_id in stored:
                continue
            orphans += 1
            if any(_inside(task.created_at, start, end) for start, end in windows):
                bad.append(doc["_id"])
    return bad, orphans


def _inside(at: datetime, start: datetime, end: datetime | None) -> bool:
    at, start = _utc(at), _utc(start)
    return start < at and (end is None or at < _utc(end))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def log_tail(stack: LocalStack, name: str, chars: int = 3000) -> str:
    proc = stack.processes.get(name)
    return "" if proc is None else proc.output()[-chars:]
