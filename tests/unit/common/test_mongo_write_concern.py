"""Git44's clients ask for durable writes unless the URL says otherwise."""

from __future__ import annotations

import pytest

from git44_common.mongo import DURABLE_WRITES, write_concern_for


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mongodb://db:27017/git44", DURABLE_WRITES),
        ("mongodb://u:p@db1,db2/git44?replicaSet=rs0&tls=true", DURABLE_WRITES),
        ("mongodb://db:27017/?w=1", {}),
        ("mongodb://db:27017/?replicaSet=rs0&journal=false", {}),
        ("mongodb://db:27017/?wTimeoutMS=5000", {}),
    ],
)
def test_the_url_may_set_its_own_write_concern(url: str, expected: object) -> None:
    assert write_concern_for(url) == expected
