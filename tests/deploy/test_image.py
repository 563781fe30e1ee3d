"""The service image without building it: the Dockerfile's shape, its hash-pinned runtime
lock (in step with the top-level lock), and the container health check script."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from localstack import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DEPLOY_LOCK = ROOT / "deploy" / "requirements.lock"
MAIN_LOCK = ROOT / "requirements.lock"
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"
PACKAGES = ["libs/git44_common", "libs/git44_sim", "services/auth", "services/jobs_api",
            "services/worker", "services/key_manager"]  # fmt: skip


def pins(lock: Path) -> dict[str, str]:
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ \\\n]+)", lock.read_text(), re.M)
    return {normalise(name): version for name, version in found}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_dockerfile_is_multi_stage_unprivileged_and_health_checked() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.M)
    assert len(stages) >= 2
    assert "COPY --from=build" in text
    assert re.search(r"^USER git44", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*CMD \[\"git44-healthcheck\"\]", text, re.M)
    assert "--require-hashes" in text
    assert "COPY deploy/requirements.lock" in text


def test_the_runtime_lock_is_hash_pinned_without_urls() -> None:
    text = DEPLOY_LOCK.read_text()
    requirements = [line for line in text.splitlines() if line and line[0].isalnum()]
    assert requirements
    assert all(" \\" in line and "==" in line for line in requirements)  # hashes follow
    assert "://" not in text  # no registry host or download URL


def test_the_runtime_lock_pins_what_the_main_lock_pins() -> None:
    runtime, main = pins(DEPLOY_LOCK), pins(MAIN_LOCK)
    differing = {name: (v, main.get(name)) for name, v in runtime.items() if main.get(name) != v}
    assert differing == {}, "run deploy/lock.sh after make lock"


def test_the_runtime_lock_covers_every_package_dependency() -> None:
    runtime = pins(DEPLOY_LOCK)
    local = {"git44-common", "git44-sim", "git44-auth", "git44-jobs", "git44-worker", "git44-keys"}
    for package in PACKAGES:
        project = tomllib.loads((ROOT / package / "pyproject.toml").read_text())["project"]
        for requirement in project.get("dependencies", []):
            name = normalise(re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0])
            assert name in local or name in runtime, f"{package} needs {name}: run deploy/lock.sh"


class _Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def ready_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ready)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


def healthcheck(*args: str, env: dict[str, str] | None = None) -> int:
    command = [sys.executable, str(HEALTHCHECK), *args]
    return subprocess.run(command, env=env or {}, capture_output=True, timeout=20).returncode


def test_the_health_check_passes_on_ready_and_fails_otherwise(ready_server: int) -> None:
    assert healthcheck(f"http://127.0.0.1:{ready_server}/readyz") == 0
    assert healthcheck(f"http://127.0.0.1:{ready_server}/not-ready") == 1
    assert healthcheck(f"http://127.0.0.1:{free_port()}/readyz") == 1


def test_the_health_check_finds_the_service_port(ready_server: int) -> None:
    assert healthcheck(env={"WORKER_PORT": str(ready_server)}) == 0
    assert healthcheck(env={"AUTH_PORT": str(free_port())}) == 1
