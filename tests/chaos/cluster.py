"""A three-node RabbitMQ cluster of our own behind Debian's haproxy (`make chaos`).

Like `PrivateRabbit`, every node has its own name, ports and mnesia/log dirs under a
base dir, so killing one never touches the machine's broker on 5672. The nodes and
rabbitmqctl share one HOME: the Erlang cookie that lets them cluster and be managed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localstack import ManagedProcess, free_port, port_open, wait_for_port

from tests.chaos.harness import RABBITMQ_SERVER, RABBITMQCTL

CLUSTER_SIZE = 3


def haproxy_binary() -> str | None:
    """Debian's haproxy (in /usr/sbin, which a non-root PATH may lack), or None."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


@dataclass
class _Node:
    name: str
    port: int
    dist_port: int
    base: Path
    proc: ManagedProcess | None = None


class RabbitCluster:
    """Three clustered nodes `cluster-<hex>-<n>@localhost`; quorum queues declared once
    all three run get a member on each, so losing one keeps a majority."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"
        prefix = f"cluster-{uuid.uuid4().hex[:8]}"
        self.nodes = [
            _Node(f"{prefix}-{n}@localhost", free_port(), free_port(), base / f"node{n}")
            for n in range(1, CLUSTER_SIZE + 1)
        ]
        self.by_name = {node.name: node for node in self.nodes}

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def _env(self, node: _Node) -> dict[str, str]:
        b, n = str(self.base), str(node.base)
        return {
            "HOME": str(self.home),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONF_ENV_FILE": f"{b}/empty.conf",
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_PORT": str(node.port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_MNESIA_BASE": f"{n}/mnesia",
            "RABBITMQ_LOG_BASE": f"{n}/log",
            "RABBITMQ_PID_FILE": f"{n}/rabbit.pid",
            "RABBITMQ_CONFIG_FILE": f"{b}/rabbitmq.conf",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{b}/enabled_plugins",
        }

    def ctl(self, node: str, *args: str) -> str:
        """`rabbitmqctl` against `node`; its stdout (raises when it fails)."""
        env = {**os.environ, **self._env(self.by_name[node])}
        command = [RABBITMQCTL, "-n", node, "-q", *args]
        done = subprocess.run(command, env=env, timeout=120, check=True, capture_output=True)
        return done.stdout.decode()

    def start(self) -> None:
        """Boot the three nodes side by side, then join nodes 2 and 3 to node 1."""
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "empty.conf").write_text("")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text("loopback_users = none\n")
        self.home.mkdir(exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex.upper())
        cookie.chmod(0o400)  # erl refuses a cookie others can read
        for node in self.nodes:  # booting side by side: a node takes ~10 s
            self._spawn(node)
        for node in self.nodes:
            wait_for_port("127.0.0.1", node.port, timeout=120)
        first = self.nodes[0].name
        for node in self.nodes[1:]:
            self.ctl(node.name, "stop_app")
            self.ctl(node.name, "join_cluster", first)
            self.ctl(node.name, "start_app")
            wait_for_port("127.0.0.1", node.port, timeout=90)
        running = self.running_nodes(first)
        assert running == {node.name for node in self.nodes}, running

    def _spawn(self, node: _Node) -> None:
        # In the caller's thread: a ManagedProcess dies with the thread that started it
        # (PR_SET_PDEATHSIG), so never from a short-lived worker thread.
        name = f"rabbit-{node.name.split('@')[0]}"
        node.proc = ManagedProcess(name, [RABBITMQ_SERVER], env=self._env(node), log_dir=self.base)
        node.proc.start()

    def running_nodes(self, asked: str) -> set[str]:
        """The cluster's running nodes as `asked` sees them."""
        status = json.loads(self.ctl(asked, "cluster_status", "--formatter", "json"))
        return set(status["running_nodes"])

    def alive(self) -> list[str]:
        return [n.name for n in self.nodes if n.proc is not None and n.proc.alive()]

    def queue_info(self, queue: str) -> dict[str, Any]:
        """`list_queues name leader members online` for one queue, asked of a live node."""
        columns = ("name", "leader", "members", "online")
        rows = json.loads(self.ctl(self.alive()[0], "list_queues", *columns, "--formatter", "json"))
        return next(row for row in rows if row["name"] == queue)

    def leader_of(self, queue: str) -> str:
        """The node leading quorum queue `queue` (its Raft leader)."""
        return str(self.queue_info(queue)["leader"])

    def kill(self, node: str) -> None:
        """kill -9 the node's whole process group, as a crash (or a pulled plug) would."""
        target = self.by_name[node]
        assert target.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(target.proc.pid, signal.SIGKILL)
        target.proc.kill()
        deadline = time.monotonic() + 30
        while port_open("127.0.0.1", target.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def restart(self, node: str) -> None:
        """Start `node` again on its data: it remembers the cluster and rejoins. Returns
        at once; call it from a thread that outlives the node (the event loop's)."""
        self._spawn(self.by_name[node])

    def wait_rejoined(self, node: str, *, within: float = 120.0) -> float:
        """Seconds until every node sees all three running (blocking)."""
        started = time.monotonic()
        wait_for_port("127.0.0.1", self.by_name[node].port, timeout=within)
        expected = {n.name for n in self.nodes}
        deadline = started + within
        while True:
            with contextlib.suppress(subprocess.SubprocessError):
                if all(self.running_nodes(n) == expected for n in expected):
                    return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"{node} did not rejoin the cluster in {within}s")
            time.sleep(1)

    def stop_all(self) -> None:
        """kill -9 every node: the cluster and its data are thrown away anyway."""
        for node in self.nodes:
            if node.proc is not None and node.proc.alive():
                self.kill(node.name)


class HAProxy:
    """A TCP balancer on a free port in front of the cluster's AMQP ports; a node that
    stops answering its checks is taken out after two failed checks (~2 s)."""

    def __init__(self, base: Path, backends: list[int], binary: str) -> None:
        self.base = base
        self.backends = backends
        self.binary = binary
        self.port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.proc: ManagedProcess | None = None

    def config(self) -> str:
        servers = "\n".join(
            f"    server rabbit{i} 127.0.0.1:{port} check inter 1s fall 2 rise 2"
            for i, port in enumerate(self.backends, start=1)
        )
        # Client/server timeouts far above the AMQP heartbeat (30 s): haproxy must never
        # be the one to cut an idle connection. A connection to a node that just died
        # is retried, then sent to another node (redispatch).
        return f"""global
    log stdout format raw local0 info

defaults
    mode tcp
    log global
    option tcplog
    option redispatch
    retries 3
    timeout connect 2s
    timeout client 3h
    timeout server 3h

frontend amqp
    bind 127.0.0.1:{self.port}
    default_backend rabbit

backend rabbit
    balance roundrobin
{servers}
"""

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        cfg = self.base / "haproxy.cfg"
        cfg.write_text(self.config())
        command = [self.binary, "-db", "-f", str(cfg)]
        self.proc = ManagedProcess("haproxy", command, log_dir=self.base).start()
        wait_for_port("127.0.0.1", self.port, timeout=30)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
