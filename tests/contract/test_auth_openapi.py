"""Schemathesis against auth's OpenAPI: positive and negative examples, authenticated
(user routes with a user's bearer token, admin routes with the development admin's)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from localstack import LocalStack

from git44_auth.core.config import AuthSettings
from git44_auth.main import create_app
from tests.contract.conftest import Credentials
from tests.contract.fuzz import FUZZ_SETTINGS, fuzz, openapi_of

pytestmark = pytest.mark.e2e

schema = openapi_of(create_app(AuthSettings()))


@schema.parametrize()
@FUZZ_SETTINGS
def test_auth_answers_as_documented(
    case: schemathesis.Case,
    contract_stack: LocalStack,
    credentials: Credentials,
    http: requests.Session,
) -> None:
    fuzz(case, contract_stack.url("auth"), credentials.headers_for(case.path), http)
