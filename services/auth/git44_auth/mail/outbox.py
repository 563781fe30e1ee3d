"""Sending mail from a request: `await ctx.mail.send(MailKind.PASSWORD_CHANGED, to=email)`.

The mail is saved in `mail_outbox` first, then published to `git44.mail` with a
publisher confirm, waiting at most AUTH_MAIL_PUBLISH_TIMEOUT_SECONDS, and deleted from
the outbox once confirmed. If the broker does not take it (down, slow, reconnecting),
the request carries on and the relay (`relay.py`) publishes it later: a mail is not
lost, and no request waits for an SMTP server (the consumer talks to it). At least
once: a crash between the confirm and the delete sends the mail twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from git44_auth.crud import mail_outbox as crud
from git44_auth.mail.messages import MailKind, missing_context, spa_link
from git44_auth.mail.models import MailRequested
from git44_auth.metrics import MAILS
from git44_common.amqp import MAIL_SEND, AmqpError, Publisher
from git44_common.clock import Clock, utc_now
from git44_common.mongo import Database

log = logging.getLogger(__name__)


class MailOutbox:
    """What account features call to send mail. `publisher` is None where no broker is
    at hand (the CLI): the mail then waits in the outbox for a running auth's relay."""

    def __init__(
        self,
        *,
        db: Database,
        publisher: Publisher | None,
        public_url: str,
        publish_timeout: float,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.public_url = public_url
        self.publish_timeout = publish_timeout
        self.clock = clock

    def link(self, path: str, **query: str) -> str:
        """A link into the SPA for a mail, e.g. `link("/verify-email", token=token)`."""
        return spa_link(self.public_url, path, **query)

    async def send(self, kind: MailKind, *, to: str, **context: str) -> str:
        """Queue the mail `kind` to `to`; its mail id. ValueError when `context` lacks a
        field `kind` needs (messages.SPECS)."""
        if missing := missing_context(kind, context):
            raise ValueError(f"mail {kind.value} needs {', '.join(missing)}")
        request = MailRequested(kind=kind, to=to, context=context)
        now = self.clock()
        # held by this request for its publish; the relay takes over after that
        hold = timedelta(seconds=2 * self.publish_timeout)
        await crud.insert_mail(
            self.db,
            mail_id=request.mail_id,
            request=request.model_dump(mode="json"),
            now=now,
            relay_after=now + hold,
        )
        MAILS.labels(kind.value, "queued").inc()
        if await self.publish(request):
            await crud.delete_mail(self.db, request.mail_id)
        else:
            await crud.release_mail(self.db, request.mail_id, now=self.clock())
        return request.mail_id

    async def publish(self, request: MailRequested) -> bool:
        """Hand `request` to the broker with a confirm; True when it took it."""
        if self.publisher is None:
            return False
        try:
            await self.publisher.publish(
                self.publisher.topology.jobs_exchange,
                MAIL_SEND,
                request,
                message_id=request.mail_id,
                timeout=self.publish_timeout,
            )
        except (AmqpError, OSError, RuntimeError) as exc:
            log.warning(
                "mail %s not published; the relay will: %s", request.mail_id, type(exc).__name__
            )
            return False
        return True
