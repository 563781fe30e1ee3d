"""Telling every service that sessions ended: `SessionsEnded` on `git44.sessions`.

The caller has written the end to MongoDB first, so the event only makes the services
refuse the tokens sooner: when the broker does not take it, each service still reads the
ended sessions within `SESSIONS_POLL_SECONDS` (`git44_common.sessions`). A failed
publish is logged and the request carries on.
"""

from __future__ import annotations

import logging

from git44_common.amqp import Publisher, PublishError
from git44_common.contracts import SessionsEnded

log = logging.getLogger(__name__)
PUBLISH_TIMEOUT_SECONDS = 2.0


async def announce_sessions_ended(publisher: Publisher | None, event: SessionsEnded) -> None:
    """Publish `event` to every replica of every service (None: the CLI, no broker)."""
    if publisher is None:
        return
    try:
        await publisher.publish(
            publisher.topology.sessions_exchange,
            "",
            event,
            message_id=event.event_id,
            mandatory=False,
            timeout=PUBLISH_TIMEOUT_SECONDS,
        )
    except PublishError:
        log.warning(
            "sessions-ended event not published; services catch up from the store",
            extra={"user_id": event.user_id, "reason": event.reason},
        )
