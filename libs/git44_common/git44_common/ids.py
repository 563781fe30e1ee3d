"""Ids of documents and messages: uuid4 hex (32 characters, no dashes)."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A fresh random id."""
    return uuid.uuid4().hex
