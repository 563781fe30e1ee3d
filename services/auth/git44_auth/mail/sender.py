"""Sending one mail over SMTP with aiosmtplib; no other module of auth speaks SMTP.

Each failure is sorted for the consumer. `MailRejected`: the server refused this mail
for good — a 5xx for its recipient or its content (550 no such user, 552, 554) — and
trying again would change nothing. `MailDeferred`: everything else — the server is down
or slow, the connection broke, a 4xx "try later" — and also a refused login, sender or
STARTTLS: those are configuration, and the mail goes out once an operator fixes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

import aiosmtplib

from git44_auth.exceptions import MailDeferred, MailRejected
from git44_auth.mail.server import SmtpServer

# the server's reply goes into logs and dead letters: enough to tell what happened
MAX_REPLY_CHARS = 200


class SmtpSender:
    """Sends to one SMTP server, a new connection per mail (mail is rare; a pooled
    connection would only add the server's idle disconnects to the failure modes)."""

    def __init__(self, server: SmtpServer, *, timeout: float) -> None:
        self.server = server
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` to its `To`; MailRejected or MailDeferred if not done."""
        server = self.server
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.use_tls,
                start_tls=server.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _refused(exc.recipients) from None
        except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
            raise _refused([exc]) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailDeferred(_describe(exc)) from None


def _refused(replies: Sequence[aiosmtplib.SMTPResponseException]) -> MailRejected | MailDeferred:
    """Permanent only when every reply was a 5xx."""
    reason = "; ".join(_describe(reply) for reply in replies)
    if replies and all(500 <= reply.code < 600 for reply in replies):
        return MailRejected(reason)
    return MailDeferred(reason)


def _describe(exc: Exception) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"[:MAX_REPLY_CHARS]
    return f"{type(exc).__name__}: {exc}"[:MAX_REPLY_CHARS]
