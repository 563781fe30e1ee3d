"""The admin's view of a result-cache purge."""

from __future__ import annotations

from git44_common.schemas import ApiModel


class CachePurgePublic(ApiModel):
    link: str
    purged: int
