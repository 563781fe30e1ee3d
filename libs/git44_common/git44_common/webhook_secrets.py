"""Webhook signing secrets in the Standard Webhooks format: `whsec_` + base64 of 32 bytes.

jobs-api creates a user's secret when the user first needs it; the worker creates it in
the same format if a delivery finds none.
"""

from __future__ import annotations

import base64
import secrets

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
