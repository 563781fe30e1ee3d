"""Mail delivery in auth's process: the consumers of `git44.mail` and
`git44.auth.notices` and the outbox relay, started in the lifespan and stopped with it."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from git44_auth.core.config import AuthSettings
from git44_auth.mail.consumer import MailConsumer
from git44_auth.mail.models import MailRequested
from git44_auth.mail.notices import NoticeConsumer
from git44_auth.mail.outbox import MailOutbox
from git44_auth.mail.relay import MailRelay
from git44_auth.mail.sender import SmtpSender
from git44_auth.mail.server import parse_smtp_url
from git44_common.amqp import start_consumer
from git44_common.contracts import AccountNotice
from git44_common.runtime import ServiceRuntime
from git44_common.tasks import stop_task

# SMTP sessions are short and mail is rare: a few at once per replica are plenty.
MAIL_PREFETCH = 4
# at shutdown, a mail being sent gets this long before it is handed back to the queue
STOP_GRACE_SECONDS = 5.0


async def start_mail_delivery(
    stack: AsyncExitStack, runtime: ServiceRuntime, outbox: MailOutbox, settings: AuthSettings
) -> None:
    """Consume `git44.mail` and relay the outbox until `stack` closes."""
    sender = SmtpSender(
        parse_smtp_url(settings.smtp_server_url()), timeout=settings.smtp_timeout_seconds
    )
    consumer = MailConsumer(
        sender=sender,
        publisher=runtime.publisher,
        mail_from=settings.mail_from,
        app_url=settings.public_url,
        retry_delays=settings.mail_retry_delays_seconds,
    )
    subscription = await start_consumer(
        await runtime.amqp.channel(),
        runtime.topology.mail_queue,
        consumer.handle,
        model=MailRequested,
        prefetch=MAIL_PREFETCH,
    )
    stack.push_async_callback(subscription.cancel, grace=STOP_GRACE_SECONDS)
    notices = NoticeConsumer(db=runtime.db, outbox=outbox)
    notice_subscription = await start_consumer(
        await runtime.amqp.channel(),
        runtime.topology.notices_queue,
        notices.handle,
        model=AccountNotice,
        prefetch=MAIL_PREFETCH,
    )
    stack.push_async_callback(notice_subscription.cancel, grace=STOP_GRACE_SECONDS)
    relay = MailRelay(outbox, interval=settings.mail_relay_interval_seconds)
    relay_task = asyncio.create_task(relay.run(), name="mail-relay")
    stack.push_async_callback(stop_task, relay_task)
