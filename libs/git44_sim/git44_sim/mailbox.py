"""What the simulator's SMTP sink received, in memory (no I/O): the last `capacity`
mails, listed newest first at `GET /_control/mail`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart

MAILBOX_CAPACITY = 1000


@dataclass(frozen=True)
class ReceivedMail:
    to: tuple[str, ...]  # the envelope's recipients (RCPT TO), lower-cased
    subject: str
    text: str | None
    html: str | None
    received_at: datetime


def parse_mail(raw: bytes, *, recipients: Iterable[str], received_at: datetime) -> ReceivedMail:
    """The parts a test or a developer reads from the raw message `raw`."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # what policy.default builds
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return ReceivedMail(
        to=tuple(address.lower() for address in recipients),
        subject=str(message.get("Subject", "")),
        text=_content(text),
        html=_content(html),
        received_at=received_at,
    )


def _content(part: MIMEPart | None) -> str | None:
    # SMTP carries CRLF line ends; JSON readers want the text as it was written
    return None if part is None else str(part.get_content()).replace("\r\n", "\n")


class Mailbox:
    """Received mails, oldest dropped beyond `capacity`."""

    def __init__(self, capacity: int = MAILBOX_CAPACITY) -> None:
        self._mails: deque[ReceivedMail] = deque(maxlen=capacity)

    def add(self, mail: ReceivedMail) -> None:
        self._mails.append(mail)

    def list(self, *, to: str | None = None) -> list[ReceivedMail]:
        """Newest first; only those to `to` (any case) when given."""
        wanted = to.strip().lower() if to else None
        return [m for m in reversed(self._mails) if wanted is None or wanted in m.to]
