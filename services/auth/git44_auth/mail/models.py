"""The message on `git44.mail`: one mail to send, as auth's outbox publishes it.

Produced and consumed by auth alone, so it lives here rather than in
`git44_common.contracts`; it is a `Contract` all the same (versioned, JSON).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from git44_auth.mail.messages import MailKind
from git44_common.clock import utc_now
from git44_common.contracts import Contract, Count, UtcDatetime
from git44_common.ids import new_id


class MailRequested(Contract):
    """Send the mail `kind` to `to` (`mail.send`); `attempt` tries were made already.

    `not_before` is when the next try is due (a delay tier can bring it back early);
    `last_error` says why the previous try failed, and why a dead letter died.
    """

    mail_id: str = Field(default_factory=new_id)
    kind: MailKind
    to: str
    context: dict[str, str] = Field(default_factory=dict)
    requested_at: UtcDatetime = Field(default_factory=utc_now)
    attempt: Count = 0
    not_before: UtcDatetime | None = None
    last_error: str | None = None

    def retry(self, *, error: str, not_before: datetime) -> MailRequested:
        """This mail after one more failed try, due again at `not_before`."""
        return self.model_copy(
            update={"attempt": self.attempt + 1, "not_before": not_before, "last_error": error}
        )

    def dead(self, *, error: str, tried: bool) -> MailRequested:
        """This mail as its dead letter says it failed (`tried`: one more try was made)."""
        return self.model_copy(update={"attempt": self.attempt + int(tried), "last_error": error})
