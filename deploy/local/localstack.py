"""Real processes for `make run` and the tests: free ports, readiness waits, clean shutdown,
and the local stack (SecantusDB, simulator, the four services)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port() -> int:
    """A port nothing listens on, picked below the kernel's ephemeral range: a port the
    kernel hands out (bind to 0) can be taken by an outgoing connection before the
    service binds it, and the suite makes thousands of those.

    A port is handed out once per process: a stack picks all its ports before any of
    its services binds one, so two picks of the same free port would give two services
    one port, and the readiness check of the one that lost the bind would be answered
    by the other (a CI run saw jobs-api's URL answered by another service)."""
    with _HANDED_OUT_LOCK:
        for _ in range(400):
            port = random.randint(20000, 30999)
            if port in _HANDED_OUT:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _HANDED_OUT.add(port)
            return port
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        _HANDED_OUT.add(port)
        return port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(host: str, port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def _die_with_parent() -> None:
    """In the child: get SIGKILL when the parent dies, so a killed test run or `make run`
    leaves no database or service behind (Linux; elsewhere a no-op). SIGKILL, not
    SIGTERM: a SecantusDB wedged in a write-conflict retry loop ignored SIGTERM and
    span at 100 % of a core for 90 minutes after its test run was killed."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


class ManagedProcess:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="git44-proc-"))
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_http_ok(self, url: str, *, timeout: float = 60.0) -> None:
        """Wait until `url` answers 200; fail early (with the log) if the process dies."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.output()[-4000:]}")
            try:
                response = httpx.get(url, timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise TimeoutError(
            f"{self.name}: {url} not ready after {timeout}s ({last})\n{self.output()[-4000:]}"
        )


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs `python -m module` with this interpreter."""
    return [sys.executable, "-m", module, *args]


# --------------------------------------------------------------------------------------
# The local stack: what `make run` starts and what the e2e tests start on free ports.

DEV_ADMIN_EMAIL = "admin@git44.local"
DEV_ADMIN_PASSWORD = "git44-dev-admin"  # development only: production refuses it
DEMO_SCRAPER_KEYS = ("demo-key-1", "demo-key-2", "demo-key-3")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    env_prefix: str
    default_port: int
    ready_path: str = "/readyz"


SERVICES = (
    ServiceSpec("auth", "git44_auth", "AUTH_", 8001),
    ServiceSpec("key-manager", "git44_keys", "KEYS_", 8004),
    ServiceSpec("jobs-api", "git44_jobs", "JOBS_", 8002),
    ServiceSpec("worker", "git44_worker", "WORKER_", 9103),
)
SIM_DEFAULT_PORT = 8090
SMTP_SINK_DEFAULT_PORT = 1025  # the simulator's SMTP sink: auth's mail in development


@dataclass
class LocalStack:
    """SecantusDB (unless a MongoDB URL is given), the simulator and the four services."""

    amqp_url: str
    mongodb_url: str | None = None
    mongodb_db: str = "git44"
    amqp_namespace: str = ""
    free_ports: bool = False
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="git44-stack-")))
    extra_env: dict[str, str] = field(default_factory=dict)
    sim_args: list[str] = field(default_factory=lambda: ["--keys", ",".join(DEMO_SCRAPER_KEYS)])
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def _port(self, name: str, default: int) -> int:
        if name not in self.ports:
            self.ports[name] = free_port() if self.free_ports else default
        return self.ports[name]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def service_env(self) -> dict[str, str]:
        sim = self.url("sim")
        env = {
            "GIT44_ENV": "development",
            "MONGODB_URL": self.mongodb_url or "",
            "MONGODB_DB": self.mongodb_db,
            "AMQP_URL": self.amqp_url,
            "AMQP_NAMESPACE": self.amqp_namespace,
            "JWKS_URL": f"{self.url('auth')}/.well-known/jwks.json",
            "AUTH_JOBS_API_URL": self.url("jobs-api"),
            "AUTH_BOOTSTRAP_ADMIN_EMAIL": DEV_ADMIN_EMAIL,
            "AUTH_BOOTSTRAP_ADMIN_PASSWORD": DEV_ADMIN_PASSWORD,
            "KEYS_SEED_KEYS": ",".join(DEMO_SCRAPER_KEYS),
            "AUTH_SMTP_URL": f"smtp://127.0.0.1:{self._port('smtp', SMTP_SINK_DEFAULT_PORT)}",
            "WORKER_SCRAPERAPI_URL": f"{sim}/",
            "KEYS_SCRAPERAPI_URL": f"{sim}/",
            # the second provider, ready for WORKER_PROVIDERS=removesora,kie
            "WORKER_KIE_URL": f"{sim}/kie",
            "WORKER_KIE_API_KEYS": "kie-demo-key-1,kie-demo-key-2",
            # providers that call back reach jobs-api directly (no gateway needed here)
            "WORKER_CALLBACK_BASE_URL": self.url("jobs-api"),
            "WORKER_REMOVESORA_URL": f"{sim}/removesora",
        }
        for spec in SERVICES:
            env[f"{spec.env_prefix}PORT"] = str(self.ports[spec.name])
        return {**env, **self.extra_env}

    def start_mongo(self) -> None:
        if self.mongodb_url:
            return
        port = self._port("mongo", 27017)
        storage = self.data_dir / "mongo"
        storage.mkdir(parents=True, exist_ok=True)
        proc = ManagedProcess(
            "secantusdb", secantus_command(port, str(storage)), log_dir=self.data_dir
        )
        self.processes["secantusdb"] = proc.start()
        wait_for_port("127.0.0.1", port, timeout=60)
        self.mongodb_url = f"mongodb://127.0.0.1:{port}/?directConnection=true"

    def start_sim(self) -> None:
        port = self._port("sim", SIM_DEFAULT_PORT)
        smtp_port = self._port("smtp", SMTP_SINK_DEFAULT_PORT)
        args = python_module(
            "git44_sim", "--port", str(port), "--smtp-port", str(smtp_port), *self.sim_args
        )
        proc = ManagedProcess("sim", args, log_dir=self.data_dir).start()
        self.processes["sim"] = proc
        proc.wait_http_ok(f"{self.url('sim')}/healthz", timeout=30)

    def start_service(
        self, spec: ServiceSpec, *, name: str | None = None, env: Mapping[str, str] | None = None
    ) -> ManagedProcess:
        """Start one service process (a second worker gets its own `name` and port; `env`
        adds to the stack's environment for this process only)."""
        name = name or spec.name
        env = {**self.service_env(), **(env or {})}
        port = self._port(name, spec.default_port)
        env[f"{spec.env_prefix}PORT"] = str(port)
        proc = ManagedProcess(name, python_module(spec.module), env=env, log_dir=self.data_dir)
        self.processes[name] = proc.start()
        return proc

    def start(self, *, timeout: float = 60.0, with_sim: bool = True) -> LocalStack:
        for spec in SERVICES:
            self._port(spec.name, spec.default_port)
        self._port("sim", SIM_DEFAULT_PORT)
        self._port("smtp", SMTP_SINK_DEFAULT_PORT)
        self.start_mongo()
        if with_sim:
            self.start_sim()
        started = [(spec, self.start_service(spec)) for spec in SERVICES]
        for spec, proc in started:
            proc.wait_http_ok(f"{self.url(spec.name)}{spec.ready_path}", timeout=timeout)
        return self

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()


def secantus_command(port: int, storage: str = ":memory:") -> list[str]:
    """The embedded MongoDB-compatible server of this virtualenv, on `port`.

    With a storage directory every commit is synced to its journal before it is
    acknowledged (`--sync-on-commit`): by default SecantusDB keeps commits in memory,
    and unlike mongod it ignores the `j: true` of a transaction's commit, so a
    `kill -9` lost acknowledged transactions — an accepted job gone after a database
    crash (found by the hour-long soak; tests/integration/common/test_durability.py).
    """
    exe = Path(sys.executable).with_name("secantusd-py")
    program = str(exe) if exe.exists() else "secantusd-py"
    durable = [] if storage == ":memory:" else ["--sync-on-commit"]
    return [
        program,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        storage,
        *durable,
        "--log-level",
        "WARNING",
    ]
