"""Replaying `git44.mail.dead` once the cause is fixed (an SMTP server down for longer
than the retry schedule, a wrong AUTH_SMTP_URL): `python -m git44_auth replay-dead-mail`.

Each dead mail goes back to `git44.mail` with its tries reset, so it gets the whole
schedule again. The mails in the queue when the replay starts are handled once each:
one that no longer parses goes back to the end of the dead queue, untouched. Published
with a confirm before it is acked: a crash mid-way can send a mail twice, never lose it.
"""

from __future__ import annotations

from aio_pika.abc import AbstractChannel
from pydantic import ValidationError

from git44_auth.mail.models import MailRequested
from git44_common.amqp import MAIL_SEND, Publisher


async def replay_dead_mail(channel: AbstractChannel, publisher: Publisher) -> int:
    """Move every mail now in `git44.mail.dead` back to `git44.mail`; how many were.

    `channel` is the publisher's (confirming) channel: a mail that no longer parses is
    put back with a confirm too."""
    topology = publisher.topology
    queue = await channel.declare_queue(topology.mail_dead_queue, passive=True)
    waiting = queue.declaration_result.message_count or 0
    replayed = 0
    for _ in range(waiting):
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        try:
            dead = MailRequested.model_validate_json(message.body)
        except ValidationError:
            await channel.default_exchange.publish(message, topology.mail_dead_queue)
        else:
            fresh = dead.model_copy(update={"attempt": 0, "not_before": None})
            await publisher.publish(
                topology.jobs_exchange, MAIL_SEND, fresh, message_id=dead.mail_id
            )
            replayed += 1
        await message.ack()
    return replayed
