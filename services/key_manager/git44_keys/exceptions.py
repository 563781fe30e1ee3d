"""Errors of key-manager; the HTTP ones render as problem+json (git44_common.problems).

Git44Error (git44_common.exceptions)
└── KeysError
    ├── ScraperKeyExists ...... 409 conflict   the key is already in the pool (also a Conflict)
    ├── ScraperKeyNotFound .... 404 not_found  no key with that id (also a NotFound)
    ├── ScraperKeyChanged ..... 409 conflict   its state changed while an admin edited it
    └── KeyDecryptionError .... a stored key cannot be decrypted (the entry of
                                KEYS_ENCRYPTION_KEY it was encrypted under is missing);
                                never shown to a client
"""

from __future__ import annotations

from git44_common.exceptions import Conflict, Git44Error, NotFound


class KeysError(Git44Error):
    """Root of the errors key-manager raises on purpose."""


class ScraperKeyExists(KeysError, Conflict):
    title = "ScraperAPI key already exists"


class ScraperKeyNotFound(KeysError, NotFound):
    title = "ScraperAPI key not found"


class ScraperKeyChanged(KeysError, Conflict):
    title = "ScraperAPI key changed meanwhile"


class KeyDecryptionError(KeysError):
    """A stored key could not be decrypted: no entry of KEYS_ENCRYPTION_KEY opens it."""
