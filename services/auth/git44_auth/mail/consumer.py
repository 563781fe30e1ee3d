"""Consumer of `git44.mail`: send each mail over SMTP, try it again later, or bury it.

- composed and sent → ack (`sent`);
- `MailDeferred` (server down or slow, a 4xx) with tries left → published to a delay
  queue, due again after the next AUTH_MAIL_RETRY_DELAYS_SECONDS entry (`retrying`);
- `MailRejected` (a 5xx: no such recipient, ...), the tries used up, or a mail that
  cannot be composed → published to `git44.mail.dead` with its `last_error` (`dead`);
- back from a delay queue before it is due (the tiers are coarse) → delayed again.

If the broker refuses the retry or the dead letter, the handler raises: the message is
requeued, and the queue's delivery limit dead-letters one that keeps failing. Logs
name the mail id, its kind and the outcome; never the address, the body or its link.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from email.message import EmailMessage

from aio_pika.abc import AbstractIncomingMessage

from git44_auth.exceptions import MailDeferred, MailRejected
from git44_auth.mail.messages import compose
from git44_auth.mail.models import MailRequested
from git44_auth.mail.retry import next_delay, remaining_wait
from git44_auth.mail.sender import SmtpSender
from git44_auth.metrics import MAILS
from git44_common.amqp import MAIL_DEAD, Publisher, QueueFamily
from git44_common.clock import Clock, utc_now

log = logging.getLogger(__name__)


class MailConsumer:
    def __init__(
        self,
        *,
        sender: SmtpSender,
        publisher: Publisher,
        mail_from: str,
        app_url: str,
        retry_delays: Sequence[float],
        clock: Clock = utc_now,
    ) -> None:
        self.sender = sender
        self.publisher = publisher
        self.mail_from = mail_from
        self.app_url = app_url
        self.retry_delays = retry_delays
        self.clock = clock

    async def handle(self, request: MailRequested, message: AbstractIncomingMessage) -> None:
        """Make one try at sending `request` (or delay it until it is due)."""
        wait = remaining_wait(request.not_before, self.clock())
        if wait > 0:
            await self._delay(request, wait)
            return
        try:
            mail = self._compose(request)
        except (KeyError, ValueError) as exc:
            await self._bury(request, f"cannot be composed: {exc!r}", tried=False)
            return
        try:
            await self.sender.send(mail)
        except MailRejected as exc:
            await self._bury(request, str(exc), tried=True)
        except MailDeferred as exc:
            await self._retry(request, str(exc))
        else:
            self._note(request, "sent", attempt=request.attempt + 1)

    def _compose(self, request: MailRequested) -> EmailMessage:
        return compose(
            request.kind,
            to=request.to,
            sender=self.mail_from,
            app_url=self.app_url,
            context=request.context,
        )

    async def _retry(self, request: MailRequested, error: str) -> None:
        delay = next_delay(request.attempt + 1, self.retry_delays)
        if delay is None:
            await self._bury(request, error, tried=True)
            return
        retry = request.retry(error=error, not_before=self.clock() + timedelta(seconds=delay))
        await self._delay(retry, delay)
        self._note(request, "retrying", attempt=retry.attempt, error=error)

    async def _delay(self, request: MailRequested, seconds: float) -> None:
        await self.publisher.publish_delayed(
            QueueFamily.MAIL, request, seconds, message_id=request.mail_id
        )

    async def _bury(self, request: MailRequested, error: str, *, tried: bool) -> None:
        dead = request.dead(error=error, tried=tried)
        exchange = self.publisher.topology.dead_letter_exchange
        await self.publisher.publish(exchange, MAIL_DEAD, dead, message_id=request.mail_id)
        self._note(request, "dead", attempt=dead.attempt, error=error)

    def _note(
        self, request: MailRequested, outcome: str, *, attempt: int, error: str | None = None
    ) -> None:
        MAILS.labels(request.kind.value, outcome).inc()
        log.log(
            logging.WARNING if error else logging.INFO,
            "mail %s (%s) try %d: %s%s",
            request.mail_id,
            request.kind.value,
            attempt,
            outcome,
            f" ({error})" if error else "",
            extra={"mail_id": request.mail_id},
        )
