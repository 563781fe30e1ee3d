"""Secrets at rest: an encryption key-list setting and the keys it gives one purpose.

A key-list setting (`KEYS_ENCRYPTION_KEY`, `WEBHOOK_SECRETS_ENCRYPTION_KEY`) holds one
or more entries separated by commas, newest first. An entry is either

- a random key: exactly 44 characters of URL-safe base64 encoding 32 bytes, what
  `Fernet.generate_key()` prints (the recommended kind); or
- a passphrase: anything else (without commas), stretched with scrypt so that each
  guess against a stolen database costs 32 MiB and about 0.1 s.

The first entry encrypts (and keys fingerprints); every entry decrypts (`MultiFernet`),
so a new key can be put in front while what the older ones encrypted still opens, until
the owner of the data re-encrypts it (docs/operations.md, "Rotating the encryption
keys"; docs/adr/0007-secrets-at-rest.md).

Each entry gives a 32-byte master key, split by HKDF into a Fernet key and a MAC key per
purpose. The salts are fixed per purpose rather than random: every replica must derive
the same keys from the setting alone, and there is nowhere else to keep a salt; a
per-purpose salt keeps one passphrase used for two purposes from giving the same keys.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import AfterValidator, SecretStr

from git44_common.exceptions import UnreadableSecret

_RANDOM_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
# RFC 7914's interactive cost doubled: paid once per process and entry (memoised)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


def key_entries(setting: str) -> list[str]:
    """The entries of a key-list setting, newest first; ValueError if one is empty."""
    entries = [entry.strip() for entry in setting.split(",")]
    if not all(entries):
        raise ValueError("an encryption key list has an empty entry (a stray comma?)")
    return entries


def is_random_key(entry: str) -> bool:
    """True for an entry used as a key as is, False for a passphrase."""
    return _RANDOM_KEY.fullmatch(entry) is not None


def _salt(purpose: str) -> bytes:
    return f"git44/{purpose}".encode()


@functools.lru_cache(maxsize=64)
def master_key(entry: str, purpose: str) -> bytes:
    """The 32 bytes an entry stands for: a random key decoded, a passphrase through scrypt."""
    if is_random_key(entry):
        return base64.urlsafe_b64decode(entry)
    scrypt = Scrypt(salt=_salt(purpose), length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    return scrypt.derive(entry.encode())


def _subkey(master: bytes, purpose: str, use: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_salt(purpose), info=use)
    return hkdf.derive(master)


def fernet_of(key: bytes) -> Fernet:
    """The Fernet of 32 raw key bytes."""
    return Fernet(base64.urlsafe_b64encode(key))


class KeyRing:
    """One key-list setting's keys for one purpose: the newest encrypts, all decrypt.

    `decrypt_only` keys are tried after the setting's own: a derivation the data was
    once encrypted under and that the owner keeps until it has re-encrypted everything.
    """

    def __init__(self, setting: str, *, purpose: str, decrypt_only: Sequence[Fernet] = ()):
        masters = [master_key(entry, purpose) for entry in key_entries(setting)]
        fernets = [fernet_of(_subkey(master, purpose, b"fernet")) for master in masters]
        self._newest = fernets[0]
        self._every = MultiFernet([*fernets, *decrypt_only])
        # one per entry, newest first: for keyed fingerprints of the plaintext
        self.mac_keys = tuple(_subkey(master, purpose, b"mac") for master in masters)

    def encrypt(self, plaintext: str) -> str:
        return self._newest.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext; UnreadableSecret when no key of the ring opens `token`."""
        try:
            return self._every.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UnreadableSecret("no configured encryption key opens this secret") from None

    def is_current(self, token: str) -> bool:
        """True when the newest key alone opens `token`: re-encrypting it changes nothing."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True


def _check_key_list(value: SecretStr) -> SecretStr:
    key_entries(value.get_secret_value())
    return value


# The type of a key-list setting: a bad list stops the service at start-up, not at the
# first secret it encrypts.
EncryptionKeys = Annotated[SecretStr, AfterValidator(_check_key_list)]
