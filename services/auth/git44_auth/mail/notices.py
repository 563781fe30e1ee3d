"""Consumer of `git44.auth.notices`: other services ask auth to mail a user (auth alone
knows the address). An `AccountNotice` names the user and the mail; the mail goes
through the outbox like any other (at least once). A notice for a user who is gone,
or of a kind auth does not send on others' behalf, is dropped (logged)."""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractIncomingMessage

from git44_auth.crud import users
from git44_auth.mail.messages import MailKind
from git44_auth.mail.outbox import MailOutbox
from git44_common.contracts import AccountNotice
from git44_common.mongo import Database

log = logging.getLogger(__name__)

# the mails another service may ask for
NOTICE_KINDS = frozenset({MailKind.WEBHOOK_ENDPOINT_DISABLED})


class NoticeConsumer:
    def __init__(self, *, db: Database, outbox: MailOutbox) -> None:
        self.db = db
        self.outbox = outbox

    async def handle(self, notice: AccountNotice, message: AbstractIncomingMessage) -> None:
        extra = {"user_id": notice.user_id, "kind": notice.kind}
        if notice.kind not in NOTICE_KINDS:
            log.warning("notice of a kind auth does not send dropped", extra=extra)
            return
        user = await users.get_user(self.db, notice.user_id)
        if user is None:
            log.info("notice for a user who is gone dropped", extra=extra)
            return
        try:
            await self.outbox.send(MailKind(notice.kind), to=str(user["email"]), **notice.context)
        except ValueError as exc:
            log.warning("notice dropped: %s", exc, extra=extra)
