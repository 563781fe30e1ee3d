"""key-manager's encryption before key lists, reproduced independently of the service:
Fernet and HMAC keys derived with HKDF straight from `KEYS_ENCRYPTION_KEY`'s text.
Keys stored that way must keep opening (git44_keys.crypto keeps it decrypt-only)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: str, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"git44-key-manager", info=purpose)
    return hkdf.derive(secret.encode())


def legacy_encrypt(secret: str, api_key: str) -> str:
    fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"encryption")))
    return fernet.encrypt(api_key.encode()).decode()


def legacy_fingerprint(secret: str, api_key: str) -> str:
    return hmac.new(_derive(secret, b"fingerprint"), api_key.encode(), hashlib.sha256).hexdigest()
