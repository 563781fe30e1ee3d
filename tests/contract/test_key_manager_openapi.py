"""Schemathesis against key-manager's OpenAPI: its admin API with the development admin's
token (keys the fuzzer adds stay in this stack's own database)."""

from __future__ import annotations

import warnings

import pytest
import requests
import schemathesis
from localstack import LocalStack

from git44_keys.core.config import KeysSettings
from git44_keys.main import create_app
from tests.contract.conftest import Credentials
from tests.contract.fuzz import FUZZ_SETTINGS, fuzz, openapi_of

pytestmark = pytest.mark.e2e

with warnings.catch_warnings():  # the document only: no key is ever encrypted here
    warnings.simplefilter("ignore", UserWarning)
    schema = openapi_of(create_app(KeysSettings()))


@schema.parametrize()
@FUZZ_SETTINGS
def test_key_manager_answers_as_documented(
    case: schemathesis.Case,
    contract_stack: LocalStack,
    credentials: Credentials,
    http: requests.Session,
) -> None:
    fuzz(case, contract_stack.url("key-manager"), credentials.headers_for(case.path), http)
