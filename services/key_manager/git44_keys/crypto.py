"""ScraperAPI keys at rest: Fernet encryption, an HMAC fingerprint, and masking.

`KEYS_ENCRYPTION_KEY` is a key list (git44_common.encryption): its first entry
encrypts and keys the fingerprint, every entry decrypts. The fingerprint (HMAC-SHA256,
keyed, so it cannot be brute-forced from a database dump) is what the unique index is
on; keys stored before a new entry was put first keep their older fingerprint until
`python -m git44_keys rotate-encryption-key` recomputes it (`git44_keys.rotation`).

Before key lists, both keys were derived with HKDF straight from the setting's text
(salt `git44-key-manager`). That derivation of each entry stays, for decryption and
duplicate checks only, so keys stored then still open; after a rotation nothing
stored needs it.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from git44_common.encryption import KeyRing, fernet_of, key_entries
from git44_common.exceptions import UnreadableSecret
from git44_common.logs import register_secret
from git44_keys.exceptions import KeyDecryptionError

# 8-128 printable ASCII characters, no whitespace.
SCRAPER_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{8,128}$")
_PURPOSE = "scraper-keys"
_LEGACY_SALT = b"git44-key-manager"


def _legacy_derive(secret: str, use: bytes) -> bytes:
    """The derivation before key lists (`use`: b"encryption" or b"fingerprint")."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_LEGACY_SALT, info=use)
    return hkdf.derive(secret.encode())


def _hmac(key: bytes, api_key: str) -> str:
    return hmac.new(key, api_key.encode(), hashlib.sha256).hexdigest()


class KeyCipher:
    """Encrypts, decrypts and fingerprints ScraperAPI keys."""

    def __init__(self, setting: str) -> None:
        # the whole text too: before key lists, a comma or a space around it was part of
        # the one secret
        legacy = list(dict.fromkeys([*key_entries(setting), setting]))
        self._keys = KeyRing(
            setting,
            purpose=_PURPOSE,
            decrypt_only=[fernet_of(_legacy_derive(secret, b"encryption")) for secret in legacy],
        )
        self._mac_keys = [
            *self._keys.mac_keys,
            *(_legacy_derive(secret, b"fingerprint") for secret in legacy),
        ]

    def encrypt(self, api_key: str) -> str:
        return self._keys.encrypt(api_key)

    def decrypt(self, token: str) -> str:
        """The plain key; registered with the log redactor before it is returned."""
        try:
            api_key = self._keys.decrypt(token)
        except UnreadableSecret:
            raise KeyDecryptionError("stored ScraperAPI key cannot be decrypted") from None
        register_secret(api_key)
        return api_key

    def is_current(self, token: str) -> bool:
        """True when `token` is encrypted under the newest key."""
        return self._keys.is_current(token)

    def fingerprint(self, api_key: str) -> str:
        """The fingerprint a key is stored with: keyed by the newest entry."""
        return _hmac(self._mac_keys[0], api_key)

    def fingerprints(self, api_key: str) -> list[str]:
        """Every fingerprint the key may be stored under (newest first): until a rotation,
        a key keeps the fingerprint of the entry that was first when it was added."""
        return [_hmac(mac_key, api_key) for mac_key in self._mac_keys]


def mask_key(api_key: str) -> str:
    """`abcd…wxyz`: enough to tell keys apart, never more than half of a key."""
    shown = min(4, len(api_key) // 4)
    return f"{api_key[:shown]}…{api_key[-shown:]}" if shown else "…"
