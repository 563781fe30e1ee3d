"""docs/api.md's examples run: every ```<language> runnable``` block of its "Examples
that run" section, each language's blocks as one script, against a running stack
through the gateway — curl (bash, jq, openssl), Python (httpx) and TypeScript (compiled
by the pinned `tsc` of docs/clients/typescript, run by Node.js). The webhook they verify
is a real delivery of this stack, received here."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from gateway import Gateway, start_gateway
from localstack import LocalStack

from tests.utils.accounts import register_account
from tests.utils.processes import free_port
from tests.utils.receiver import serving_receiver
from tests.utils.stack import LOCAL_WEBHOOKS, WEBHOOK_SIM_ARGS, stack_fixture
from tools.public_api import CLIENTS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "api.md"
RUNNABLE = re.compile(r"^```(sh|python|ts) runnable\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# what the TypeScript examples may assume of Node.js without its type package
TS_PRELUDE = "declare const process: { env: Record<string, string | undefined> };\nexport {};\n"

docs_stack = stack_fixture(
    "docs_stack",
    scope="module",
    tag="doc",
    sim_args=WEBHOOK_SIM_ARGS,
    extra_env=LOCAL_WEBHOOKS,
)


def examples(language: str) -> str:
    """The `language` blocks of the guide, in order, as one script."""
    blocks = [code for lang, code in RUNNABLE.findall(GUIDE.read_text()) if lang == language]
    assert blocks, f"no {language} examples in {GUIDE}"
    return "\n".join(blocks)


def test_each_task_has_an_example_in_each_language() -> None:
    section = GUIDE.read_text().split("## Examples that run", 1)[1].split("\n## ", 1)[0]
    tasks = re.split(r"^### ", section, flags=re.MULTILINE)[1:]
    assert len(tasks) == 5
    for task in tasks:
        languages = [lang for lang, _ in RUNNABLE.findall(task)]
        assert languages == ["sh", "python", "ts"], (task.splitlines()[0], languages)


@pytest.fixture(scope="module")
def docs_gateway(
    nginx: str, docs_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    gateway = start_gateway(
        docs_stack.ports, run_dir=tmp_path_factory.mktemp("docs-gateway"), listen_port=free_port()
    )
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
async def delivered_webhook(docs_stack: LocalStack) -> AsyncIterator[dict[str, str]]:
    """A webhook this stack really sent, and the secret it was signed with."""
    async with (
        serving_receiver("/hooks/docs") as hooks,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await register_account(http, docs_stack.url("auth"), prefix="docs-hook")
        api = {"X-API-Key": account["apiKey"]["key"]}
        jobs = docs_stack.url("jobs-api")
        link = f"https://sora.chatgpt.com/p/s_docs{uuid.uuid4().hex[:12]}"
        submitted = await http.post(
            f"{jobs}/api/v1/removals", json={"inputLink": link, "callbackUrl": hooks.url},
            headers=api,
        )  # fmt: skip
        assert submitted.status_code == 202, submitted.text
        secret = (await http.get(f"{jobs}/api/v1/webhook-secret", headers=api)).json()["secret"]
        deadline = time.monotonic() + 60
        while not hooks.received:
            assert time.monotonic() < deadline, "no webhook arrived"
            await asyncio.sleep(0.2)
        headers, body = hooks.received[0]
        yield {
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_ID": headers["webhook-id"],
            "WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
            "WEBHOOK_SIGNATURE": headers["webhook-signature"],
            "WEBHOOK_BODY": body.decode(),
        }


def _command(language: str, workdir: Path) -> list[str]:
    if language == "sh":
        (workdir / "examples.sh").write_text(examples("sh"))
        return ["bash", "-eu", "examples.sh"]
    if language == "python":
        (workdir / "examples.py").write_text(examples("python"))
        return [sys.executable, "examples.py"]
    (workdir / "examples.mts").write_text(TS_PRELUDE + examples("ts"))
    compiled = subprocess.run(
        [str(CLIENTS / "node_modules" / ".bin" / "tsc"), "--strict", "--target", "es2022",
         "--module", "nodenext", "--lib", "es2022,dom,dom.iterable,dom.asynciterable",
         "--skipLibCheck", "examples.mts"],
        cwd=workdir, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return ["node", "examples.mjs"]


@pytest.mark.parametrize("language", ["sh", "python", "ts"])
async def test_the_guides_examples_run(
    language: str,
    docs_gateway: Gateway,
    delivered_webhook: dict[str, str],
    tmp_path: Path,
) -> None:
    tools = {"sh": ("bash", "curl", "jq", "openssl"), "python": (), "ts": ("node",)}[language]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (make system-packages)")
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GIT44": docs_gateway.url,
        "EMAIL": f"docs-{language}-{uuid.uuid4().hex[:8]}@example.com",
        "PASSWORD": "Docs-example-Pass-1",
        "LINK": f"https://sora.chatgpt.com/p/s_docs{uuid.uuid4().hex[:12]}",
        **delivered_webhook,
    }
    command = _command(language, tmp_path)
    ran = await asyncio.to_thread(
        subprocess.run, command, cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, f"{language} examples failed:\n{ran.stdout}\n{ran.stderr}"
