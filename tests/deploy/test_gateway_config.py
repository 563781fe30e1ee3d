"""The gateway config as Debian's nginx runs it, in front of three small fake upstreams that
say who answered: routing table, SSE streaming, CORS, request ids, gzip and limits."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from gateway import (
    TEMPLATE,
    Gateway,
    check_config,
    render_template,
    start_gateway,
    template_placeholders,
    write_local_config,
    write_trusted_proxies,
)
from localstack import free_port

SPA = "http://localhost:5173"


class _Upstream(BaseHTTPRequestHandler):
    """Answers every request with who it is and what it saw; streams for the SSE path."""

    service = "?"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.startswith("/api/removal/events"):
            self._stream()
            return
        body = {
            "service": self.service,
            "method": self.command,
            "path": self.path,
            "request_id": self.headers.get("X-Request-ID"),
            "forwarded_for": self.headers.get("X-Forwarded-For"),
            "padding": "x" * (4096 if "big" in self.path else 0),
        }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Request-ID", "upstream-echo")  # the gateway shows its own once
        self.end_headers()
        self.wfile.write(data)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(b"event: ready\ndata: {}\n\n")
        self.wfile.flush()
        time.sleep(1.5)
        self.wfile.write(b"event: job\ndata: {}\n\n")
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(service: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type(f"Upstream_{service}", (_Upstream,), {"service": service})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


@pytest.fixture(scope="module")
def gateway(nginx: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    auth, auth_port = _serve("auth")
    jobs, jobs_port = _serve("jobs-api")
    # key-manager is down: nothing listens on its port
    ports = {"auth": auth_port, "jobs-api": jobs_port, "key-manager": free_port()}
    gateway = start_gateway(
        ports,
        run_dir=tmp_path_factory.mktemp("gateway-fake"),
        listen_port=free_port(),
        cors_origins=[SPA],
    )
    try:
        yield gateway
    finally:
        gateway.stop()
        auth.shutdown()
        jobs.shutdown()


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, trust_env=False, timeout=10) as http:
        yield http


def test_nginx_accepts_the_rendered_local_config(nginx: str, tmp_path: Path) -> None:
    config = write_local_config(tmp_path, {"auth": 8001, "jobs-api": 8002, "key-manager": 8004})
    checked = check_config(config, nginx)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_rendering_refuses_a_missing_value() -> None:
    with pytest.raises(KeyError, match="AUTH_UPSTREAM"):
        render_template(TEMPLATE.read_text(), {})
    assert "GATEWAY_SSE_READ_TIMEOUT" in template_placeholders(TEMPLATE.read_text())


@pytest.mark.parametrize(
    ("method", "path", "service"),
    [
        ("POST", "/api/auth/register", "auth"),
        ("GET", "/.well-known/jwks.json", "auth"),
        ("GET", "/api/admin/users", "auth"),
        ("PATCH", "/api/admin/users/u1", "auth"),
        ("PATCH", "/api/admin/users/u1/quota", "jobs-api"),
        ("POST", "/api/removal", "jobs-api"),
        ("GET", "/api/removal/abc?x=1", "jobs-api"),
        ("GET", "/api/v1/removals", "jobs-api"),
        ("POST", "/api/providers/kie/callback/t0k3n", "jobs-api"),
        ("GET", "/api/admin/jobs?status=failed", "jobs-api"),
        ("GET", "/api/admin/stats", "jobs-api"),
        ("DELETE", "/api/admin/result-cache?link=x", "jobs-api"),
        ("GET", "/api/admin/jobs/j1", "jobs-api"),
        ("GET", "/api/admin/dead-letters?limit=5", "jobs-api"),
        ("POST", "/api/admin/dead-letters/l1/replay", "jobs-api"),
        ("GET", "/api/admin/audit-log?action=job.retry", "jobs-api"),
        ("GET", "/api/openapi.json", "jobs-api"),
        ("GET", "/api/docs", "jobs-api"),
        ("GET", "/api/docs/swagger-ui-bundle.js", "jobs-api"),
    ],
)
def test_routes_reach_their_service_with_the_path_unchanged(
    client: httpx.Client, method: str, path: str, service: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 200
    assert response.json()["service"] == service
    assert response.json()["path"] == path


def test_unknown_paths_get_a_problem_from_the_gateway(client: httpx.Client) -> None:
    response = client.get("/metrics")  # the services' metrics are not public
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_a_down_service_is_a_503_problem(client: httpx.Client) -> None:
    response = client.get("/api/admin/scraper-keys")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"


def test_request_ids_pass_through_or_are_minted(client: httpx.Client) -> None:
    given = client.get("/api/removal/x", headers={"X-Request-ID": "req-123"})
    assert given.json()["request_id"] == "req-123"
    assert given.headers.get_list("x-request-id") == ["req-123"]
    minted = client.get("/api/removal/x")
    assert len(minted.json()["request_id"]) == 32
    assert minted.headers["x-request-id"] == minted.json()["request_id"]


def test_the_client_address_is_not_spoofable(client: httpx.Client) -> None:
    response = client.get("/api/removal/x", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.json()["forwarded_for"] == "127.0.0.1"


def test_cors_answers_only_the_configured_origins(client: httpx.Client) -> None:
    allowed = client.get("/api/removal/x", headers={"Origin": SPA})
    assert allowed.headers["access-control-allow-origin"] == SPA
    assert "X-Request-ID" in allowed.headers["access-control-expose-headers"]
    other = client.get("/api/removal/x", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_preflight_is_answered_by_the_gateway(client: httpx.Client) -> None:
    headers = {"Origin": SPA, "Access-Control-Request-Method": "POST"}
    response = client.options("/api/removal", headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SPA
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Idempotency-Key" in response.headers["access-control-allow-headers"]


def test_json_is_gzipped(client: httpx.Client) -> None:
    response = client.get("/api/removal/big", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["service"] == "jobs-api"


def test_oversized_bodies_are_refused_with_a_problem(client: httpx.Client) -> None:
    response = client.post("/api/removal", content=b"x" * (65 * 1024))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_sse_is_streamed_not_buffered(gateway: Gateway) -> None:
    started = time.monotonic()
    with (
        httpx.Client(trust_env=False, timeout=10) as http,
        http.stream(
            "GET", f"{gateway.url}/api/removal/events", headers={"Accept-Encoding": "gzip"}
        ) as response,
    ):
        assert "content-encoding" not in response.headers
        lines = response.iter_lines()
        first = next(lines)
        first_after = time.monotonic() - started
        rest = list(lines)
    assert first == "event: ready"
    assert first_after < 1.0  # the upstream sends its second event 1.5 s later
    assert "event: job" in rest


def test_every_answer_carries_the_security_headers(client: httpx.Client) -> None:
    for response in (client.get("/api/removal/x"), client.get("/nowhere"), client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # not served over TLS


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("TRACE", "/api/auth/register", {}, 405),
        ("GET", "/api/admin/users?cursor=" + "%F0%93%A7%AD" * 1000, {}, 414),
        ("GET", "/api/removal/x", {"X-Big": "a" * 9000}, 400),
    ],
    ids=["trace", "long-uri", "big-header"],
)
def test_what_nginx_refuses_itself_is_a_problem_too(
    client: httpx.Client, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_only_the_docs_page_may_run_scripts_and_only_its_own(client: httpx.Client) -> None:
    api = client.get("/api/removal/x").headers["content-security-policy"]
    assert api == "default-src 'none'; frame-ancestors 'none'"
    docs = client.get("/api/docs").headers["content-security-policy"]
    assert "script-src 'self';" in docs
    assert "default-src 'none'" in docs
    assert "frame-ancestors 'none'" in docs
    assert "http" not in docs  # no other origin


def test_hsts_is_sent_when_configured_for_tls(nginx: str, tmp_path: Path) -> None:
    ports = {"auth": free_port(), "jobs-api": free_port(), "key-manager": free_port()}
    gateway = start_gateway(
        ports, run_dir=tmp_path, listen_port=free_port(),
        overrides={"GATEWAY_HSTS_MAX_AGE": "31536000"},
    )  # fmt: skip
    try:
        response = httpx.get(f"{gateway.url}/healthz", trust_env=False)
    finally:
        gateway.stop()
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_the_rate_limit_headers_are_readable_by_the_spa(client: httpx.Client) -> None:
    response = client.get("/api/removal/x", headers={"Origin": SPA})
    exposed = {
        name.strip() for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"RateLimit", "RateLimit-Policy", "Retry-After"} <= exposed


def test_trusted_proxies_must_be_addresses(tmp_path: Path) -> None:
    write_trusted_proxies(tmp_path / "ok.conf", ["10.0.0.0/8", "fd00::1"])
    assert (tmp_path / "ok.conf").read_text().splitlines()[1:] == [
        "set_real_ip_from 10.0.0.0/8;",
        "set_real_ip_from fd00::1;",
    ]
    with pytest.raises(subprocess.CalledProcessError):
        write_trusted_proxies(tmp_path / "bad.conf", ["10.0.0.1; include /etc/passwd"])
