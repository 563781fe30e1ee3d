"""When a mail is tried again (pure: no I/O, no clock of its own).

`AUTH_MAIL_RETRY_DELAYS_SECONDS` is the whole schedule: the delay before the 2nd try,
the 3rd, ...; once it runs out the mail is dead-lettered. The delay queues' tiers are
coarser than the schedule, so a mail can come back before it is due and is delayed
again for the rest (`remaining_wait`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

# Closer than this to its due time a mail is sent: the smallest delay tier is 1 s anyway.
DUE_TOLERANCE_SECONDS = 0.05


def next_delay(tries_made: int, delays: Sequence[float]) -> float | None:
    """Seconds to wait after `tries_made` failed tries, or None when no try is left."""
    if tries_made < 1 or tries_made > len(delays):
        return None
    return float(delays[tries_made - 1])


def remaining_wait(not_before: datetime | None, now: datetime) -> float:
    """Seconds until `not_before`; 0 when it is unset or (practically) here."""
    if not_before is None:
        return 0.0
    seconds = (not_before - now).total_seconds()
    return seconds if seconds > DUE_TOLERANCE_SECONDS else 0.0
