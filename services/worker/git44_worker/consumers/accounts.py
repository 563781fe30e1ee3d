"""`account.deleted` (git44.worker.accounts): delete a deleted user's webhook deliveries.

jobs-api repeats the event (through the accounts delay queue) until the user's last job
is gone and once more after that; every repeat reaches this queue too, so deliveries
an ending job caused between two passes are deleted as well.
"""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractIncomingMessage

from git44_common.contracts import AccountDeleted
from git44_common.mongo import Database
from git44_worker.crud import webhooks as crud

log = logging.getLogger(__name__)


class AccountDeletedConsumer:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle(self, event: AccountDeleted, _message: AbstractIncomingMessage) -> None:
        deleted = await crud.delete_user_deliveries(self.db, event.user_id)
        if deleted:
            log.info(
                "deleted user's webhook deliveries",
                extra={"user_id": event.user_id, "deliveries_deleted": deleted},
            )
