"""Dead letters of `git44.removal.dead`, for operators: list, replay, purge.

RabbitMQ has no way to read a queue without taking its messages, so the admin routes
take them over: each message in the dead queue is stored in `dead_letters` (one
document per message, its id derived from the message id, so a copy is the same
letter) and only then acked. From there a letter is listed, replayed or purged.

Nothing is lost at any step, whatever crashes when:

- queue → store: stored (an idempotent upsert) before the ack; a crash in between
  leaves the message in the queue, and the next drain stores it again as the same
  letter;
- store → work queue: the job's `removal.requested` is published with a broker
  confirm (a failed job is queued again through the admin retry, whose outbox relay
  covers a publish that failed) before the letter is deleted; a crash in between
  leaves the letter, and replaying it again sends a second message, which the worker
  handles like any duplicate (it moves a job only by compare-and-set on its status).

`letters.py` turns a message into a letter (no I/O), `crud.py` is the collection,
`service.py` the drain, replay and purge.
"""
