"""An SMTP server for tests: the simulator's aiosmtpd sink, run in the test's own event
loop on a free port, that can be stopped and started again (an outage) and refuses
recipients at `.invalid` domains with 550."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from git44_sim.mailbox import Mailbox, ReceivedMail
from git44_sim.smtp import start_smtp_sink, stop_smtp_sink
from tests.utils.processes import free_port
from tests.utils.waiting import eventually


class SmtpSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """What auth's AUTH_SMTP_URL is set to."""
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await start_smtp_sink(self.mailbox, host="127.0.0.1", port=self.port)

    async def stop(self) -> None:
        """Stop listening: a client now gets 'connection refused'."""
        if self._server is not None:
            await stop_smtp_sink(self._server)
            self._server = None

    def mail_to(self, address: str) -> list[ReceivedMail]:
        return self.mailbox.list(to=address)

    async def wait_for_mail(
        self, address: str, *, count: int = 1, within: float = 15.0
    ) -> list[ReceivedMail]:
        """The mails to `address` once at least `count` have arrived, newest first."""

        async def arrived() -> list[ReceivedMail]:
            mails = self.mail_to(address)
            return mails if len(mails) >= count else []

        return await eventually(arrived, within=within)

    async def wait_for_subject(
        self, address: str, subject: str, *, within: float = 15.0
    ) -> ReceivedMail:
        """The newest mail to `address` with `subject`, once one has arrived (other mails,
        such as the verification mail of a registration, may come and go in between)."""

        async def arrived() -> list[ReceivedMail]:
            return [mail for mail in self.mail_to(address) if mail.subject == subject]

        return (await eventually(arrived, within=within))[0]


@asynccontextmanager
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    """A running sink, stopped afterwards."""
    sink = SmtpSink(free_port())
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()
