"""Schemathesis against the public document (`/api/openapi.json`, every service in one)
through the gateway, the single origin it describes: the SPA routes with a user's
bearer token, the Dev API with the user's API key, admin routes with the development
admin's token. Each service's own document is fuzzed harder against the service itself
(test_*_openapi.py); here the point is that the merged document and the gateway's
routes tell clients the truth. Excluded: the SSE stream, as there, and logging out.

CONTRACT_GATEWAY_EXAMPLES (default 40) examples per operation."""

from __future__ import annotations

import json
import os

import pytest
import requests
import schemathesis
from gateway import Gateway
from hypothesis import settings

from tests.contract.conftest import Credentials
from tests.contract.fuzz import FUZZ_SETTINGS, fuzz
from tools import public_api

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("CONTRACT_GATEWAY_EXAMPLES", "40"))

# ... and the calls that end the fuzzer's own session (the rest would be 401s): auth's
# suite fuzzes them against auth
schema = (
    schemathesis.openapi.from_dict(json.loads(public_api.DOCUMENT.read_text()))
    .exclude(path="/api/removal/events")
    .exclude(path=["/api/auth/logout", "/api/auth/logout-all"])
)


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=EXAMPLES)
def test_the_public_api_answers_as_documented_through_the_gateway(
    case: schemathesis.Case,
    contract_gateway: Gateway,
    credentials: Credentials,
    http: requests.Session,
) -> None:
    fuzz(case, contract_gateway.url, credentials.headers_for(case.path), http)


def test_the_gateway_serves_the_public_document_and_its_docs(
    contract_gateway: Gateway, http: requests.Session
) -> None:
    served = http.get(f"{contract_gateway.url}/api/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json() == json.loads(public_api.DOCUMENT.read_text())
    docs = http.get(f"{contract_gateway.url}/api/docs", timeout=10)
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text
