"""`git44ctl`, the installed console script, drives a real stack as the development admin:
a job whose message was dead-lettered is replayed to `success` and the replay read back
from the audit log; users, quotas and keys are changed and audited.

The CLI is pointed at each service (GIT44_AUTH_URL, GIT44_JOBS_URL, GIT44_KEYS_URL), and
once at the gateway, its default way in (when Debian's nginx is installed)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from gateway import start_gateway
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, SERVICES, LocalStack, free_port

from git44_common.amqp import Topology
from git44_common.contracts import RemovalRequested
from tests.utils.accounts import PASSWORD
from tests.utils.requests import bearer, sora_link

pytestmark = pytest.mark.e2e

GIT44CTL = Path(sys.executable).with_name("git44ctl")


class Ctl:
    """Runs the console script against `stack`, its login kept under `config_home`."""

    def __init__(self, config_home: Path, urls: dict[str, str]) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT44")},
            "XDG_CONFIG_HOME": str(config_home),
            **urls,
        }

    @classmethod
    def logged_in(cls, config_home: Path, urls: dict[str, str]) -> Ctl:
        """git44ctl logged in as the development admin (password from the environment)."""
        ctl = cls(config_home, urls)
        said = ctl.run(
            "login", "--email", DEV_ADMIN_EMAIL, env={"GIT44_PASSWORD": DEV_ADMIN_PASSWORD}
        )
        assert DEV_ADMIN_EMAIL in said
        return ctl

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """The command's output; the test fails (with stderr) if it exits non-zero."""
        done = subprocess.run(
            [str(GIT44CTL), *args], env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"git44ctl {' '.join(args)}: {done.stderr}{done.stdout}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json"))

    def until(self, *args: str, within: float = 60.0, check: Any = bool) -> Any:
        """`json(*args)` once `check` holds for it."""
        deadline = time.monotonic() + within
        while True:
            answer = self.json(*args)
            if check(answer):
                return answer
            assert time.monotonic() < deadline, f"git44ctl {' '.join(args)}: {answer}"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def ctl(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Ctl:
    """git44ctl logged in at the stack's services, no gateway between."""
    urls = {"GIT44_AUTH_URL": stack.url("auth"), "GIT44_JOBS_URL": stack.url("jobs-api"),
            "GIT44_KEYS_URL": stack.url("key-manager")}  # fmt: skip
    return Ctl.logged_in(tmp_path_factory.mktemp("git44ctl-config"), urls)


def submit_job(stack: LocalStack) -> tuple[str, str]:
    """A new user's job: (user id, job id)."""
    with httpx.Client(timeout=30) as http:
        email = f"ctl-{time.monotonic_ns()}@example.com"
        body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
        registered = http.post(f"{stack.url('auth')}/api/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        token = registered.json()["accessToken"]
        submitted = http.post(
            f"{stack.url('jobs-api')}/api/removal",
            json={"inputLink": sora_link()},
            headers=bearer(token),
        )
        assert submitted.status_code == 202, submitted.text
        return registered.json()["user"]["id"], submitted.json()["id"]


async def reject_next_request(amqp_url: str, topology: Topology) -> str:
    """Reject the next `removal.requested` without requeue, as a worker rejects a message
    it cannot handle: RabbitMQ dead-letters it. Its job id."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection, connection.channel() as channel:
        queue = await channel.get_queue(topology.removal_queue)
        for _ in range(200):
            message = await queue.get(no_ack=False, fail=False)
            if message is not None:
                await message.reject(requeue=False)
                return RemovalRequested.model_validate_json(message.body).job_id
            await asyncio.sleep(0.05)
    raise AssertionError("no removal request arrived")


def restart_worker(stack: LocalStack) -> None:
    [spec] = [spec for spec in SERVICES if spec.name == "worker"]
    worker = stack.start_service(spec)
    worker.wait_http_ok(f"{stack.url('worker')}{spec.ready_path}", timeout=60)


def test_a_dead_lettered_job_is_replayed_to_success_and_the_replay_is_audited(
    stack: LocalStack, ctl: Ctl, amqp_url: str
) -> None:
    stack.processes["worker"].stop()  # nobody takes the job's message but this test
    _, job_id = submit_job(stack)
    topology = Topology(namespace=stack.amqp_namespace)
    assert asyncio.run(reject_next_request(amqp_url, topology)) == job_id
    restart_worker(stack)  # the job stays queued: its only message is dead
    assert ctl.json("jobs", "show", job_id)["status"] == "queued"

    [letter] = ctl.until("dlq", "list", "--job", job_id)
    assert letter["reason"] == "rejected"
    assert job_id in ctl.run("dlq", "list")  # the table too
    [outcome] = ctl.json("dlq", "replay", letter["id"])
    assert (outcome["jobId"], outcome["replayed"]) == (job_id, True)

    ctl.until("jobs", "show", job_id, check=lambda job: job["status"] == "success")
    assert ctl.json("dlq", "list") == []
    [admin] = ctl.json("users", "list", "--email", DEV_ADMIN_EMAIL)
    [entry] = ctl.json("audit", "list", "--action", "dead_letter.replay", "--since", "1h")
    assert (entry["actor"], entry["target"], entry["service"]) == (admin["id"], job_id, "jobs-api")
    assert entry["after"] == {"status": "queued"}


def test_users_quotas_and_keys_are_changed_and_audited(stack: LocalStack, ctl: Ctl) -> None:
    user_id, _ = submit_job(stack)
    assert ctl.json("users", "disable", user_id)["disabled"] is True
    assert ctl.json("users", "enable", user_id)["disabled"] is False
    quota = ctl.json("quota", "set", user_id, "--add", "5", "--daily-limit", "7")
    assert quota["dailyLimit"] == 7

    keys = ctl.json("keys", "list")
    assert len(keys) == 3
    assert all("demo-key" not in json.dumps(key) for key in keys)  # masked
    assert ctl.json("keys", "patch", keys[0]["id"], "--label", "renamed")["label"] == "renamed"
    assert ctl.json("keys", "disable", keys[0]["id"])["status"] == "disabled"
    assert ctl.json("keys", "enable", keys[0]["id"])["status"] == "active"

    actions = [entry["action"] for entry in ctl.json("audit", "list", "--target", user_id)]
    assert actions == ["quota.update", "user.update", "user.update"]
    key_actions = [e["action"] for e in ctl.json("audit", "list", "--target", keys[0]["id"])]
    assert key_actions == ["scraper_key.update"] * 3
    assert len(ctl.json("audit", "list", "--target", keys[0]["id"], "--limit", "2")) == 2


def test_the_gateway_is_the_default_way_in(
    nginx: str, stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gateway = start_gateway(
        stack.ports, run_dir=tmp_path_factory.mktemp("ctl-gateway"), listen_port=free_port()
    )
    try:
        ctl = Ctl.logged_in(tmp_path_factory.mktemp("git44ctl-gw"), {"GIT44_URL": gateway.url})
        assert ctl.json("dlq", "list") == []
        assert isinstance(ctl.json("audit", "list", "--limit", "5"), list)
        assert len(ctl.json("keys", "list")) == 3
        assert ctl.json("users", "list", "--email", DEV_ADMIN_EMAIL)[0]["role"] == "admin"
    finally:
        gateway.stop()
