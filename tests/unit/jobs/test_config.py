"""jobs-api settings guard the development-only switches."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from git44_jobs.core.config import JobsSettings
from tests.utils.production import PRODUCTION_CONNECTIONS


def test_private_callbacks_are_refused_in_production() -> None:
    production = {
        "environment": "production",
        **PRODUCTION_CONNECTIONS,
        "webhook_secrets_encryption_key": Fernet.generate_key().decode(),
    }
    with pytest.raises(ValidationError, match="JOBS_ALLOW_PRIVATE_CALLBACKS is for development"):
        JobsSettings(**production, allow_private_callbacks=True)
    assert not JobsSettings(**production).allow_private_callbacks
    assert JobsSettings(environment="test", allow_private_callbacks=True).allow_private_callbacks
