"""git44ctl against a fake API (httpx's MockTransport, the edge we do not run here): the
stored login, problems shown as their title and detail, cursors followed, tokens refreshed.
tests/e2e/test_git44ctl.py drives a real stack."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from git44_ctl.cli import app
from git44_ctl.commands.audit import parse_time

Handler = Callable[[httpx.Request], httpx.Response]
ADMIN = {"id": "a1", "email": "ops@example.com", "role": "admin"}


def session(user: dict[str, Any], access: str = "at-1") -> dict[str, Any]:
    return {"accessToken": access, "refreshToken": "rt-1", "tokenType": "Bearer",
            "expiresIn": 900, "user": user}  # fmt: skip


def problem(status: int, title: str, detail: str, code: str) -> httpx.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "code": code}  # fmt: skip
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


@pytest.fixture
def config_home(tmp_path: Path) -> Path:
    return tmp_path / "config"


def run(config_home: Path, handler: Handler, *args: str, input: str | None = None) -> Result:
    env = {"XDG_CONFIG_HOME": str(config_home), "GIT44_URL": "http://gw"}
    transport = httpx.MockTransport(handler)
    return CliRunner().invoke(app, list(args), obj=transport, env=env, input=input)


def logged_in(config_home: Path) -> None:
    result = run(config_home, lambda r: httpx.Response(200, json=session(ADMIN)),
                 "login", "--email", "ops@example.com", "--password", "pw")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_login_keeps_the_tokens_for_the_owner_only(config_home: Path) -> None:
    logged_in(config_home)
    stored = config_home / "git44ctl" / "credentials.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert json.loads(stored.read_text())["http://gw"]["accessToken"] == "at-1"


def test_a_user_who_is_not_an_admin_is_not_logged_in(config_home: Path) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/auth/logout":
            return httpx.Response(204)
        return httpx.Response(200, json=session({**ADMIN, "role": "user"}))

    result = run(config_home, answer, "login", "--email", "u@example.com", "--password", "pw")
    assert result.exit_code == 1
    assert "not an admin" in result.output
    assert calls == ["/api/auth/login", "/api/auth/logout"]  # its session ended at once
    assert not (config_home / "git44ctl" / "credentials.json").exists()


def test_commands_need_a_login_and_show_the_apis_problems(config_home: Path) -> None:
    nothing = run(config_home, lambda r: httpx.Response(500), "jobs", "show", "j1")
    assert nothing.exit_code == 1
    assert "git44ctl login" in nothing.output
    logged_in(config_home)

    def missing(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer at-1"
        return problem(404, "Not found", "No such job.", "not_found")

    result = run(config_home, missing, "jobs", "show", "j1")
    assert result.exit_code == 1
    assert "Error: Not found: No such job. (404)" in result.output


def test_an_unreachable_service_is_its_own_exit_code(config_home: Path) -> None:
    logged_in(config_home)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = run(config_home, down, "dlq", "list")
    assert result.exit_code == 3
    assert "http://gw/api/admin/dead-letters" in result.output


def test_a_web_page_or_a_redirect_is_not_the_api(config_home: Path) -> None:
    logged_in(config_home)
    page = httpx.Response(200, text="<html>the SPA</html>", headers={"content-type": "text/html"})
    moved = httpx.Response(302, headers={"location": "https://sso.example.com/login"})
    for answer, expected in [
        (page, "200 with text/html, not JSON"),
        (moved, "302, to https://sso"),
    ]:
        result = run(config_home, lambda r, a=answer: a, "jobs", "show", "j1")
        assert result.exit_code == 1, result.output
        assert "http://gw/api/admin/jobs/j1 answered " + expected in result.output
        assert "check --url" in result.output
        assert "Traceback" not in result.output


def test_an_expired_token_is_refreshed_once_and_kept(config_home: Path) -> None:
    logged_in(config_home)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/auth/refresh":
            assert json.loads(request.content) == {"refreshToken": "rt-1"}
            return httpx.Response(200, json={**session(ADMIN, "at-2"), "refreshToken": "rt-2"})
        if request.headers["authorization"] == "Bearer at-1":
            return problem(401, "Token expired", "The token expired.", "token_expired")
        return httpx.Response(200, json={"data": [], "nextCursor": None})

    result = run(config_home, answer, "dlq", "list")
    assert result.exit_code == 0, result.output
    stored = json.loads((config_home / "git44ctl" / "credentials.json").read_text())
    assert stored["http://gw"]["refreshToken"] == "rt-2"


def test_audit_list_sends_the_filters_and_follows_cursors_up_to_the_limit(
    config_home: Path,
) -> None:
    logged_in(config_home)
    seen: list[dict[str, str]] = []

    def pages(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        number = int(params.get("cursor", "0"))
        entries = [{"id": f"e{number}{i}", "at": "2026-03-01T12:00:00.000Z", "actor": "a1",
                    "action": "job.retry", "target": "j1", "service": "jobs-api",
                    "before": None, "after": {"status": "queued"}} for i in range(2)]  # fmt: skip
        return httpx.Response(200, json={"data": entries, "nextCursor": str(number + 1)})

    result = run(config_home, pages, "audit", "list", "--action", "job.retry",
                 "--since", "2026-03-01T00:00", "--limit", "5", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [entry["id"] for entry in json.loads(result.output)] == [
        "e00", "e01", "e10", "e11", "e20"
    ]  # fmt: skip
    assert seen[0] == {"action": "job.retry", "since": "2026-03-01T00:00:00+00:00", "limit": "5"}
    assert [page.get("cursor") for page in seen] == [None, "1", "2"]
    assert seen[2]["limit"] == "1"  # only what is still wanted

    table = run(config_home, pages, "audit", "list", "--limit", "1")
    assert table.output.splitlines()[0].split() == [
        "AT", "SERVICE", "ACTOR", "ACTION", "TARGET", "AFTER"
    ]  # fmt: skip
    assert 'job.retry  j1      {"status":"queued"}' in table.output


def test_dlq_replay_and_purge_take_one_letter_or_all(config_home: Path) -> None:
    logged_in(config_home)
    unused = run(config_home, lambda r: httpx.Response(500), "dlq", "replay")
    assert unused.exit_code == 2
    both = run(config_home, lambda r: httpx.Response(500), "dlq", "purge", "l1", "--all")
    assert both.exit_code == 2

    def replay(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/admin/dead-letters/replay")
        outcome = {"id": "l1", "jobId": "j1", "replayed": True, "status": "queued",
                   "detail": None}  # fmt: skip
        return httpx.Response(200, json={"data": [outcome], "nextCursor": None})

    replayed = run(config_home, replay, "dlq", "replay", "--all")
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1, kept 0" in replayed.output
    refused = run(config_home, lambda r: httpx.Response(500), "dlq", "purge", "--all", input="n\n")
    assert refused.exit_code == 1  # not confirmed: nothing was sent


def test_times_are_iso_or_an_age() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert parse_time("12h", now=now) == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    assert parse_time("7d", now=now) == datetime(2026, 2, 23, 12, 0, tzinfo=UTC)
    assert parse_time("2026-03-01T10:00Z") == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert parse_time("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
