"""ScraperAPI keys at rest: Fernet encryption, an HMAC fingerprint, and masking.

Both the Fernet key and the fingerprint's HMAC key are derived with HKDF from the one
secret `KEYS_ENCRYPTION_KEY`, so every replica derives the same keys and an operator
manages a single secret. The fingerprint (HMAC-SHA256, keyed, so it cannot be
brute-forced from a database dump) is what the unique index is on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from git44_common.logs import register_secret
from git44_keys.exceptions import KeyDecryptionError

# 8-128 printable ASCII characters, no whitespace.
SCRAPER_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{8,128}$")
_SALT = b"git44-key-manager"


def _derive(secret: str, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=purpose)
    return hkdf.derive(secret.encode())


class KeyCipher:
    """Encrypts, decrypts and fingerprints ScraperAPI keys."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"encryption")))
        self._mac_key = _derive(secret, b"fingerprint")

    def encrypt(self, api_key: str) -> str:
        return self._fernet.encrypt(api_key.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plain key; registered with the log redactor before it is returned."""
        try:
            api_key = self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise KeyDecryptionError("stored ScraperAPI key cannot be decrypted") from None
        register_secret(api_key)
        return api_key

    def fingerprint(self, api_key: str) -> str:
        return hmac.new(self._mac_key, api_key.encode(), hashlib.sha256).hexdigest()


def mask_key(api_key: str) -> str:
    """`abcd…wxyz`: enough to tell keys apart, never more than half of a key."""
    shown = min(4, len(api_key) // 4)
    return f"{api_key[:shown]}…{api_key[-shown:]}" if shown else "…"
