"""Encryption key lists: random keys and passphrases, the newest encrypts, every entry
decrypts, and the derivations stay what stored data was encrypted under."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from git44_common.encryption import (
    EncryptionKeys,
    KeyRing,
    is_random_key,
    key_entries,
    master_key,
)
from git44_common.exceptions import UnreadableSecret

RANDOM_KEY = "mVxEwYyNSPWzj8XKBO3e0yWJ3c4cqFjyD7qvD3N8QWs="
PASSPHRASE = "correct horse battery staple"


@pytest.mark.parametrize(
    ("entry", "random"),
    [
        (Fernet.generate_key().decode(), True),
        (RANDOM_KEY, True),
        ("changethis", False),
        (RANDOM_KEY[:-1], False),  # 43 characters
        (RANDOM_KEY.replace("m", "+"), False),  # standard base64: not what generate_key prints
        (base64.urlsafe_b64encode(bytes(48)).decode(), False),  # `openssl rand -base64 48`
    ],
)
def test_an_entry_is_a_random_key_only_in_fernets_own_format(entry: str, random: bool) -> None:
    assert is_random_key(entry) is random


def test_a_random_key_is_used_as_is_and_a_passphrase_is_stretched() -> None:
    assert master_key(RANDOM_KEY, "pinned") == base64.urlsafe_b64decode(RANDOM_KEY)
    assert len(master_key(PASSPHRASE, "pinned")) == 32
    assert master_key(PASSPHRASE, "pinned") != master_key(PASSPHRASE, "other purpose")


def test_entries_are_comma_separated_and_trimmed() -> None:
    assert key_entries(f" {RANDOM_KEY} , old passphrase ") == [RANDOM_KEY, "old passphrase"]


@pytest.mark.parametrize("setting", ["", "new,,old", "new,", " , "])
def test_an_empty_entry_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match="empty entry"):
        key_entries(setting)


def test_a_setting_with_an_empty_entry_is_refused_without_echoing_it() -> None:
    class Demo(BaseModel):
        model_config = ConfigDict(hide_input_in_errors=True)  # as every service's settings
        keys: EncryptionKeys

    with pytest.raises(ValidationError, match="empty entry") as raised:
        Demo(keys=SecretStr("s3cret-passphrase,,"))
    assert "s3cret" not in str(raised.value)


def test_a_value_round_trips_and_is_not_readable_at_rest() -> None:
    ring = KeyRing(RANDOM_KEY, purpose="test")
    token = ring.encrypt("whsec_plain")
    assert "whsec_plain" not in token
    assert ring.encrypt("whsec_plain") != token  # random IV
    assert ring.decrypt(token) == "whsec_plain"


def test_replicas_with_the_same_passphrase_derive_the_same_keys() -> None:
    token = KeyRing(PASSPHRASE, purpose="test").encrypt("x")
    assert KeyRing(PASSPHRASE, purpose="test").decrypt(token) == "x"


def test_one_passphrase_gives_each_purpose_its_own_keys() -> None:
    token = KeyRing(PASSPHRASE, purpose="scraper-keys").encrypt("x")
    with pytest.raises(UnreadableSecret):
        KeyRing(PASSPHRASE, purpose="webhook-secrets").decrypt(token)


def test_the_newest_entry_encrypts_and_every_entry_decrypts() -> None:
    new = Fernet.generate_key().decode()
    old_token = KeyRing("old passphrase", purpose="test").encrypt("from before")
    rotating = KeyRing(f"{new},old passphrase", purpose="test")

    assert rotating.decrypt(old_token) == "from before"
    assert not rotating.is_current(old_token)
    new_token = rotating.encrypt("from now on")
    assert rotating.is_current(new_token)
    assert KeyRing(new, purpose="test").decrypt(new_token) == "from now on"
    with pytest.raises(UnreadableSecret):
        KeyRing(new, purpose="test").decrypt(old_token)


def test_decrypt_only_keys_open_but_never_encrypt() -> None:
    legacy = Fernet(Fernet.generate_key())
    ring = KeyRing(RANDOM_KEY, purpose="test", decrypt_only=[legacy])
    assert ring.decrypt(legacy.encrypt(b"old").decode()) == "old"
    assert KeyRing(RANDOM_KEY, purpose="test").decrypt(ring.encrypt("new")) == "new"


def test_mac_keys_are_one_per_entry_newest_first() -> None:
    ring = KeyRing(f"{RANDOM_KEY},{PASSPHRASE}", purpose="test")
    assert len(ring.mac_keys) == 2
    assert ring.mac_keys[0] == KeyRing(RANDOM_KEY, purpose="test").mac_keys[0]


def test_a_passphrase_is_stretched_once_per_process() -> None:
    """scrypt takes ~0.1 s on purpose; settings and rings are built many times."""
    misses = master_key.cache_info().misses
    for _ in range(3):
        KeyRing("memoised passphrase", purpose="memo")
    assert master_key.cache_info().misses == misses + 1


@pytest.mark.parametrize(
    ("setting", "token"),
    [
        (
            PASSPHRASE,
            "gAAAAABrDcK0IhehNLE4pBXw64OsAgv2vxi7laSheTzDV6-2ZaocnF5gcIKX1buLE012Czvc8xMMNPJRdvCiNy"
            "XDF9wuABmkg_AXzQEH2JVRDVn1Tf7byKk=",
        ),
        (
            RANDOM_KEY,
            "gAAAAABrDcK02wCzeqmz0HGFD8m1WNXbUKxtNeHxWHWdwxicKLHD6RXUvyYmOrgduVqW84VFCe1ZwCI250a8Zf"
            "QP3l7E4zeOcN_nFsiI-m60FngE-EgY1jU=",
        ),
    ],
)
def test_the_derivations_are_pinned(setting: str, token: str) -> None:
    """Stored data depends on them: a changed salt, scrypt cost or HKDF label would make
    every stored secret unreadable."""
    assert KeyRing(setting, purpose="pinned").decrypt(token) == "pinned plaintext"
