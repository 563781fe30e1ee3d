"""ETags of GET responses and `If-None-Match`."""

from __future__ import annotations

from git44_jobs.api.etag import _matches, compute_etag


def test_etags_match_weak_and_listed_tags() -> None:
    etag = compute_etag({"a": 1})
    assert etag.startswith('W/"')
    assert etag == compute_etag({"a": 1})
    assert etag != compute_etag({"a": 2})
    assert _matches(f'"other", {etag}', etag)
    assert _matches(etag.removeprefix("W/"), etag)
    assert not _matches(None, etag)
