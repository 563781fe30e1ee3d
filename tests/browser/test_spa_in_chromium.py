"""The SPA's real path in a real browser: Debian's Chromium (driven by Playwright, never
downloaded) on a page served from another origin registers, logs in, submits a link and
follows the live stream through the gateway to `success`. The browser makes the CORS
preflights itself; the gateway's access log shows them answered. The page checks that
no job's version ever goes back. A screenshot and the event log are saved under
bench-results/browser/."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gateway import Gateway, start_gateway
from localstack import LocalStack
from playwright.sync_api import Browser

from tests.utils.processes import free_port
from tests.utils.stack import stack_fixture

pytestmark = pytest.mark.e2e

PAGE = Path(__file__).with_name("spa.html")
ARTIFACTS = Path(__file__).resolve().parents[2] / "bench-results" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# a quiet, sandbox-free headless Chromium on a machine with no outside network
CHROMIUM_ARGS = [
    "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip

browser_stack = stack_fixture(
    "browser_stack",
    scope="module",
    tag="b",
    extra_env={"WORKER_POLL_MIN_SECONDS": "0.2", "WORKER_POLL_MAX_SECONDS": "0.3"},
)


class _Page(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 (the http.server name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return None


@pytest.fixture(scope="module")
def page_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def spa_gateway(
    nginx: str, browser_stack: LocalStack, page_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    gateway = start_gateway(
        browser_stack.ports,
        run_dir=tmp_path_factory.mktemp("spa-gateway"),
        listen_port=free_port(),
        cors_origins=[f"http://localhost:{page_port}"],
    )
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
def spa_origin(spa_gateway: Gateway, page_port: int) -> Iterator[str]:
    """The page, served by a server of its own: another origin than the gateway's."""
    handler = type("Page", (_Page,), {})
    handler.body = PAGE.read_text().replace("__GATEWAY__", spa_gateway.url).encode()
    server = ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{page_port}"
    finally:
        server.shutdown()


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, launched by Playwright (which downloads nothing)."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    args = [*CHROMIUM_ARGS, *(["--no-sandbox"] if os.geteuid() == 0 else [])]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


def _preflights(gateway: Gateway) -> dict[str, int]:
    log = gateway.config.parent / "gateway-access.log"
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {e["uri"]: e["status"] for e in entries if e["method"] == "OPTIONS"}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system-packages)")
def test_the_spa_path_works_in_chromium_from_another_origin(
    spa_origin: str, spa_gateway: Gateway
) -> None:
    console: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("console", lambda message: console.append(message.text))
        page.goto(spa_origin)
        try:
            page.wait_for_function(
                "window.probe.done || window.probe.error !== null", timeout=60_000
            )
        finally:
            probe = page.evaluate("window.probe")
            probe["page"] = page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / "spa.png"), full_page=True)
            (ARTIFACTS / "events.json").write_text(
                json.dumps({**probe, "console": console}, indent=2)
            )

    assert probe["error"] is None, (probe["error"], console)
    job_id = probe["jobId"]
    assert probe["location"] == f"/api/removal/{job_id}"  # exposed to the page by CORS
    statuses = [e["status"] for e in probe["log"] if e["id"].startswith(f"{job_id}:")]
    assert statuses[0] == "queued"
    assert statuses[-1] == "success"
    assert probe["stale"] == []  # no state ever went back
    preflights = _preflights(spa_gateway)
    for path in ("/api/auth/register", "/api/auth/login", "/api/removal", "/api/removal/events"):
        assert preflights.get(path) == 204, (path, preflights)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make system-packages)")
def test_the_interactive_docs_render_under_the_gateways_csp(spa_gateway: Gateway) -> None:
    """/api/docs through the gateway: Swagger UI's own files, run under the page's
    Content-Security-Policy, render the public document (no CSP violation)."""
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{spa_gateway.url}/api/docs")
        title = page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert title is not None
        assert "Git44 public API" in title.inner_text()
        page.wait_for_selector(".opblock", timeout=30_000)
        operations = page.locator(".opblock").count()
        page.screenshot(path=str(ARTIFACTS / "docs.png"))
    assert operations >= 40  # every public operation is listed
    assert not [e for e in errors if "Content Security Policy" in e], errors
