"""Schemathesis against jobs-api's OpenAPI: the SPA routes with a user's bearer token, the
Dev API with the user's API key, admin routes with the development admin's token.

Excluded: `GET /api/removal/events` — a Server-Sent Events stream that never ends, so a
request never completes (the security suite checks who receives which events)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from localstack import LocalStack

from git44_jobs.core.config import JobsSettings
from git44_jobs.main import create_app
from tests.contract.conftest import Credentials
from tests.contract.fuzz import FUZZ_SETTINGS, fuzz, openapi_of

pytestmark = pytest.mark.e2e

schema = openapi_of(create_app(JobsSettings())).exclude(path="/api/removal/events")


@schema.parametrize()
@FUZZ_SETTINGS
def test_jobs_api_answers_as_documented(
    case: schemathesis.Case,
    contract_stack: LocalStack,
    credentials: Credentials,
    http: requests.Session,
) -> None:
    fuzz(case, contract_stack.url("jobs-api"), credentials.headers_for(case.path), http)
