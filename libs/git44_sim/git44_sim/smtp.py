"""The simulator's SMTP sink: an aiosmtpd server on the simulator's event loop that keeps
every mail in the `Mailbox` instead of delivering it (`make run` points auth at it).

Recipients at a `.invalid` domain (RFC 2606) are refused with 550, so a bounce can be
tried without a real bad address.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from aiosmtpd.smtp import SMTP, Envelope, Session

from git44_sim.mailbox import Mailbox, parse_mail

REFUSED_DOMAIN_SUFFIX = ".invalid"
STOP_GRACE_SECONDS = 2.0


class MailboxHandler:
    """aiosmtpd's handler hooks: refuse `.invalid` recipients, store each mail."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.rpartition("@")[2].lower().endswith(REFUSED_DOMAIN_SUFFIX):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        received = parse_mail(raw, recipients=envelope.rcpt_tos, received_at=datetime.now(UTC))
        self.mailbox.add(received)
        return "250 Message accepted for delivery"


async def start_smtp_sink(mailbox: Mailbox, *, host: str, port: int) -> asyncio.Server:
    """Listen on `host:port`; every mail received lands in `mailbox`."""
    handler = MailboxHandler(mailbox)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname="git44-sim", enable_SMTPUTF8=True, loop=loop),
        host=host,
        port=port,
    )


async def stop_smtp_sink(server: asyncio.Server) -> None:
    """Stop listening; a client still connected gets `STOP_GRACE_SECONDS` to finish."""
    server.close()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STOP_GRACE_SECONDS):
            await server.wait_closed()
