"""The contract suite's stack: every service as a real process, a registered user (bearer
token and API key) and the development admin, shared by every fuzzed operation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import requests
from gateway import Gateway, start_gateway
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from tests.utils.processes import free_port
from tests.utils.stack import RAISED_LIMITS, stack_fixture

PASSWORD = "contract-Pass-1234"

# Generous limits: the fuzzer should reach the validation and business paths, not spend
# its examples on 429s (the security suite proves the throttles with default limits).
CONTRACT_ENV = {
    **RAISED_LIMITS,
    "JOBS_DEFAULT_TOTAL_QUOTA": "1000000",
    "JOBS_DEFAULT_DAILY_LIMIT": "1000000",
}


@dataclass(frozen=True)
class Credentials:
    """What the fuzzer authenticates with: a user's token and API key, an admin's token."""

    user_token: str
    api_key: str
    admin_token: str

    def headers_for(self, path: str) -> dict[str, str]:
        """Admin routes get the admin's token, the Dev API the user's API key, the rest
        the user's bearer token."""
        if path.startswith("/api/admin"):
            return {"Authorization": f"Bearer {self.admin_token}"}
        if path.startswith("/api/v1"):
            return {"X-API-Key": self.api_key}
        return {"Authorization": f"Bearer {self.user_token}"}


contract_stack = stack_fixture("contract_stack", scope="package", tag="c", extra_env=CONTRACT_ENV)

# The gateway's own per-address limits raised for the same reason.
GATEWAY_LIMITS = {"GATEWAY_REQUESTS_PER_SECOND": "100000", "GATEWAY_REQUEST_BURST": "100000"}


@pytest.fixture(scope="package")
def contract_gateway(
    nginx: str, contract_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """Debian's nginx on the rendered gateway config, in front of `contract_stack`: the
    single origin the public document describes."""
    gateway = start_gateway(
        contract_stack.ports,
        run_dir=tmp_path_factory.mktemp("contract-gateway"),
        listen_port=free_port(),
        overrides=GATEWAY_LIMITS,
    )
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="package")
def credentials(contract_stack: LocalStack) -> Credentials:
    base = contract_stack.url("auth")
    body = {"email": "fuzz-user@example.com", "password": PASSWORD, "confirmPassword": PASSWORD}
    registered = httpx.post(f"{base}/api/auth/register", json=body, timeout=30)
    assert registered.status_code == 201, registered.text
    admin = httpx.post(
        f"{base}/api/auth/login",
        json={"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD},
        timeout=30,
    )
    assert admin.status_code == 200, admin.text
    session = registered.json()
    return Credentials(
        user_token=session["accessToken"],
        api_key=session["apiKey"]["key"],
        admin_token=admin.json()["accessToken"],
    )


@pytest.fixture(scope="package")
def http() -> Iterator[requests.Session]:
    """One keep-alive session for every example (schemathesis sends with requests)."""
    with requests.Session() as session:
        yield session


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many examples each operation got and what it answered (the issue's evidence)."""
    from tests.contract.fuzz import SENT, STATUSES

    if not SENT:
        return
    terminalreporter.section("contract: examples per operation")
    for label, count in sorted(SENT.items()):
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(STATUSES[label].items()))
        terminalreporter.write_line(f"{count:5d}  {label}  [{statuses}]")
