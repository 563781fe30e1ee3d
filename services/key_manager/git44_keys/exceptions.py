"""Errors of key-manager; the HTTP ones render as problem+json (git44_common.problems).

KeysError
└── (also ProblemError subclasses from git44_common.exceptions)
    ├── ScraperKeyExists ...... 409 conflict   the key is already in the pool
    └── ScraperKeyNotFound .... 404 not_found  no key with that id
"""

from __future__ import annotations

from git44_common.exceptions import Conflict, Git44Error, NotFound


class KeysError(Git44Error):
    """Root of the errors key-manager raises on purpose."""


class ScraperKeyExists(KeysError, Conflict):
    title = "ScraperAPI key already exists"


class ScraperKeyNotFound(KeysError, NotFound):
    title = "ScraperAPI key not found"
