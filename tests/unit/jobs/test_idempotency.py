"""`Idempotency-Key` values and request fingerprints."""

from __future__ import annotations

import pytest

from git44_common.exceptions import ValidationFailed
from git44_jobs.idempotency.service import check_key, fingerprint


def test_idempotency_keys_and_fingerprints() -> None:
    assert check_key("order-1") == "order-1"
    assert check_key(None) is None
    for bad in ["", "x" * 256, "has space", "naïve"]:
        with pytest.raises(ValidationFailed):
            check_key(bad)
    a = fingerprint("POST", "/api/removal", {"inputLink": "x", "b": 1})
    assert a == fingerprint("post", "/api/removal", {"b": 1, "inputLink": "x"})
    assert a != fingerprint("POST", "/api/v1/removals", {"inputLink": "x", "b": 1})
