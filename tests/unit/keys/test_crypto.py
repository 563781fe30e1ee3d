"""Encryption at rest, fingerprints and masking of ScraperAPI keys."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from git44_common.logs import REDACTED, RedactingFilter
from git44_keys.crypto import SCRAPER_KEY_PATTERN, KeyCipher, mask_key
from git44_keys.exceptions import KeyDecryptionError
from tests.utils.legacy_crypto import legacy_encrypt, legacy_fingerprint

KEY = "sk-live-0123456789abcdef"


def test_a_key_round_trips_and_is_not_readable_at_rest() -> None:
    cipher = KeyCipher("unit-test-secret")
    token = cipher.encrypt(KEY)
    assert KEY not in token
    assert cipher.encrypt(KEY) != token  # random IV: equal keys are not recognisable
    assert cipher.decrypt(token) == KEY


def test_another_replica_with_the_same_secret_decrypts() -> None:
    assert KeyCipher("shared").decrypt(KeyCipher("shared").encrypt(KEY)) == KEY


def test_a_wrong_secret_cannot_decrypt() -> None:
    token = KeyCipher("one").encrypt(KEY)
    with pytest.raises(KeyDecryptionError):
        KeyCipher("two").decrypt(token)


def test_fingerprints_are_stable_keyed_and_distinct() -> None:
    cipher = KeyCipher("secret-a")
    assert cipher.fingerprint(KEY) == cipher.fingerprint(KEY)
    assert cipher.fingerprint(KEY) != cipher.fingerprint(KEY + "x")
    assert cipher.fingerprint(KEY) != KeyCipher("secret-b").fingerprint(KEY)


def test_keys_stored_before_key_lists_still_open() -> None:
    """The HKDF derivation from before stays a decrypt-only fallback for each entry."""
    token = legacy_encrypt("the-old-secret", KEY)
    assert KeyCipher("the-old-secret").decrypt(token) == KEY
    new = Fernet.generate_key().decode()
    assert KeyCipher(f"{new},the-old-secret").decrypt(token) == KEY
    assert not KeyCipher(f"{new},the-old-secret").is_current(token)
    with pytest.raises(KeyDecryptionError):
        KeyCipher(new).decrypt(token)


def test_new_keys_are_encrypted_under_the_newest_entry_only() -> None:
    new = Fernet.generate_key().decode()
    token = KeyCipher(f"{new},old-secret").encrypt(KEY)
    assert KeyCipher(new).is_current(token)
    with pytest.raises(KeyDecryptionError):
        KeyCipher("old-secret").decrypt(token)


def test_a_key_is_fingerprinted_under_the_newest_entry_and_found_under_any() -> None:
    new = Fernet.generate_key().decode()
    rotating = KeyCipher(f"{new},old-secret")
    assert rotating.fingerprint(KEY) == KeyCipher(new).fingerprint(KEY)
    candidates = rotating.fingerprints(KEY)
    assert candidates[0] == rotating.fingerprint(KEY)
    assert KeyCipher("old-secret").fingerprint(KEY) in candidates
    assert legacy_fingerprint("old-secret", KEY) in candidates
    assert rotating.fingerprint(KEY) != legacy_fingerprint(new, KEY)


def test_the_derivation_is_pinned() -> None:
    """Stored keys and the unique index depend on it."""
    cipher = KeyCipher("correct horse battery staple")
    token = (
        "gAAAAABrDcK0vMcaxs9e3jxfxmYb0Cr1406cQOwksXDkAwunLf9bX0HsOy1hzBLLL7hzh6YoBm60UKnCukrjlmUIV"
        "_fhyYhJlWSjGqojbAVt0jxDJGsvppI="
    )
    assert cipher.decrypt(token) == "sk-pinned-0123456789"
    assert cipher.fingerprint("sk-pinned-0123456789") == (
        "febdb5a564d2c1889287142a1e5c84f6a6d40319f473c364406fa3eea21b8e49"
    )


def test_a_decrypted_key_is_redacted_from_logs() -> None:
    cipher = KeyCipher("redaction")
    plain = "scraper-" + "q" * 20
    cipher.decrypt(cipher.encrypt(plain))
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "using %s", (plain,), None)
    RedactingFilter().filter(record)
    assert plain not in record.getMessage()
    assert REDACTED in record.getMessage()


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("abcd0123456789wxyz", "abcd…wxyz"),
        ("demo-key-1", "de…-1"),
        ("12345678", "12…78"),
    ],
)
def test_masks_never_show_more_than_half_a_key(key: str, masked: str) -> None:
    assert mask_key(key) == masked
    assert len(masked.replace("…", "")) <= len(key) // 2


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("abcdefgh", True),
        ("a" * 128, True),
        ("short", False),
        ("a" * 129, False),
        ("has space1", False),
        ("tab\tinside", False),
        ("nonascii-é-key", False),
    ],
)
def test_the_accepted_key_shape(key: str, valid: bool) -> None:
    assert bool(SCRAPER_KEY_PATTERN.match(key)) is valid
