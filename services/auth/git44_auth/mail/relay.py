"""The mail relay: publishes what `MailOutbox.send` saved but the broker did not take
(it was down, or the process died between the save and the publish).

Every AUTH_MAIL_RELAY_INTERVAL_SECONDS it claims the outbox's due mails one by one
(a compare-and-set on `relay_after`, so replicas do not publish one mail together),
publishes each with a confirm and deletes it. While the broker refuses, the round ends
and the claimed mail comes due again after `CLAIM_SECONDS`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from git44_auth.crud import mail_outbox as crud
from git44_auth.mail.models import MailRequested
from git44_auth.mail.outbox import MailOutbox
from git44_common.tasks import run_every

log = logging.getLogger(__name__)

CLAIM_SECONDS = 30.0
BATCH_SIZE = 100  # per round, so one round never runs for long


class MailRelay:
    def __init__(self, outbox: MailOutbox, *, interval: float) -> None:
        self.outbox = outbox
        self.interval = interval

    async def run(self) -> None:
        """Relay until cancelled (a lifespan task)."""
        await run_every(self.interval, self.relay_once, what="mail relay")

    async def relay_once(self) -> int:
        """One round; how many mails were published."""
        outbox, published = self.outbox, 0
        while published < BATCH_SIZE:
            now = outbox.clock()
            until = now + timedelta(seconds=CLAIM_SECONDS)
            document = await crud.claim_due_mail(outbox.db, now=now, until=until)
            if document is None:
                break
            request = MailRequested.model_validate(document["request"])
            if not await outbox.publish(request):
                break
            await crud.delete_mail(outbox.db, request.mail_id)
            published += 1
        if published:
            log.info("mail relay published %d mail(s)", published)
        return published
