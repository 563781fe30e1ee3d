"""What a client sends: bearer headers and Sora share links."""

from __future__ import annotations

import uuid

SORA = "https://sora.chatgpt.com/p/s_{}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sora_link(suffix: str | None = None) -> str:
    """A valid Sora share link, unique unless `suffix` is given."""
    return SORA.format(suffix if suffix is not None else uuid.uuid4().hex[:12])
