"""Mailed tokens: random, long, stored as a hash, with the lifetimes the issue names."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from git44_auth.account_tokens import LIFETIMES, Purpose, hash_token, invalid_token


def test_the_stored_hash_is_the_tokens_sha256() -> None:
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()
    assert hash_token("abc") != hash_token("abd")


def test_lifetimes() -> None:
    assert LIFETIMES[Purpose.VERIFY_EMAIL] == timedelta(hours=24)
    assert LIFETIMES[Purpose.RESET_PASSWORD] == timedelta(minutes=30)


def test_a_token_that_does_not_work_is_a_422_on_the_token_field() -> None:
    problem = invalid_token("no")
    assert (problem.status, problem.code) == (422, "validation_failed")
    assert problem.extra["errors"][0]["loc"] == ["body", "token"]
