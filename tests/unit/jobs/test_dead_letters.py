"""A dead-lettered message as a stored letter: its id, its death, its job (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import aio_pika
import pytest
from yarl import URL

from git44_common.contracts import RemovalRequested
from git44_common.exceptions import ServiceUnavailable
from git44_jobs.dead_letters.letters import (
    MAX_BODY_CHARS,
    letter_document,
    letter_id,
    read_death,
)
from git44_jobs.dead_letters.service import dead_queue

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_one_message_is_one_letter_however_often_it_is_stored() -> None:
    assert letter_id("j1:3", b"a") == letter_id("j1:3", b"b")  # the message id decides
    assert letter_id("j1:3", b"a") != letter_id("j1:4", b"a")
    assert letter_id(None, b"a") == letter_id(None, b"a")  # else the body does
    assert letter_id(None, b"a") != letter_id(None, b"b")
    assert letter_id(None, b"j1:3") != letter_id("j1:3", b"j1:3")


def test_the_latest_death_says_why_where_and_when() -> None:
    latest = {"count": 2, "reason": "delivery_limit", "queue": "git44.removal",
              "time": datetime(2026, 3, 1, 11, 0), "exchange": "git44.jobs"}  # fmt: skip
    earlier = {"count": 1, "reason": b"expired", "queue": "git44.removal.delay.5s"}
    headers = {"x-death": [latest, earlier]}
    death = read_death(headers)
    assert (death.reason, death.queue, death.count) == ("delivery_limit", "git44.removal", 3)
    assert death.at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)  # naive means UTC
    first_only = read_death({"x-first-death-reason": "rejected"})
    assert (first_only.reason, first_only.count, first_only.at) == ("rejected", 0, None)
    assert read_death({"x-death": "garbage"}).reason is None


def test_a_removal_request_names_its_job_anything_else_is_kept_as_text() -> None:
    request = RemovalRequested(job_id="j1", user_id="u1", attempt=2)
    body = request.model_dump_json().encode()
    letter = letter_document(body=body, headers={}, message_id="j1:3", now=NOW)
    assert (letter["job_id"], letter["user_id"], letter["queue"]) == ("j1", "u1", "removal")
    assert letter["_id"] == letter_id("j1:3", body)
    assert (letter["body"], letter["body_truncated"], letter["stored_at"]) == (
        body.decode(),
        False,
        NOW,
    )
    poison = letter_document(body=b"\xff" * 5000, headers={}, message_id=None, now=NOW)
    assert (poison["job_id"], poison["message_id"]) == (None, None)
    assert len(poison["body"]) == MAX_BODY_CHARS
    assert poison["body_truncated"] is True


async def test_a_connection_not_open_is_a_503_not_a_500() -> None:
    """While the robust connection reconnects, aio-pika's channel() raises RuntimeError
    ("Connection was not opened"): the dead-letter routes answer 503 and Retry-After."""
    reconnecting = aio_pika.RobustConnection(URL("amqp://guest:guest@127.0.0.1:1/"))
    with pytest.raises(ServiceUnavailable):
        async with dead_queue(reconnecting, "git44.removal.dead"):
            pytest.fail("no queue without a connection")
