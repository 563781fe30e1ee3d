"""The `mail_outbox` collection: mail saved before it is published, until the broker
has confirmed it (then the document is deleted).

`{_id: mail id, request: MailRequested as JSON, created_at, relay_after}`: the request
that saved a mail publishes it at once and holds it until `relay_after`; past that, the
relay claims it by moving `relay_after` on (so two replicas do not both publish it).
"""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument

from git44_common.collections import MAIL_OUTBOX
from git44_common.mongo import Database, Document


async def insert_mail(
    db: Database, *, mail_id: str, request: Document, now: datetime, relay_after: datetime
) -> None:
    await db[MAIL_OUTBOX].insert_one(
        {"_id": mail_id, "request": request, "created_at": now, "relay_after": relay_after}
    )


async def delete_mail(db: Database, mail_id: str) -> None:
    """The broker has the mail now."""
    await db[MAIL_OUTBOX].delete_one({"_id": mail_id})


async def release_mail(db: Database, mail_id: str, *, now: datetime) -> None:
    """Hand the mail to the relay's next round (its publish failed)."""
    await db[MAIL_OUTBOX].update_one({"_id": mail_id}, {"$set": {"relay_after": now}})


async def claim_due_mail(db: Database, *, now: datetime, until: datetime) -> Document | None:
    """The oldest mail nobody holds, now held until `until`; None when there is none."""
    return await db[MAIL_OUTBOX].find_one_and_update(
        {"relay_after": {"$lte": now}},
        {"$set": {"relay_after": until}},
        sort=[("relay_after", 1)],
        return_document=ReturnDocument.AFTER,
    )


async def count_mail(db: Database) -> int:
    """How many mails wait for the broker."""
    return await db[MAIL_OUTBOX].count_documents({})
