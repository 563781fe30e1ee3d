"""git44ctl's errors; each ends the command with its message and a non-zero exit code.

CtlError                 exit 1
├── ApiError             the API answered a problem (its title and detail are shown)
├── NotLoggedIn          no token, or the session ended: `git44ctl login`
├── NotTheApi            a redirect or a page that is not JSON: the URL is wrong
└── Unreachable          the service did not answer (exit 3)
"""

from __future__ import annotations

from typing import Any


class CtlError(Exception):
    """Root of the errors git44ctl reports to the operator."""

    exit_code = 1


class ApiError(CtlError):
    """An RFC 9457 problem from the API (or an error answer that is not one)."""

    def __init__(
        self, status: int, title: str, detail: str | None, *, code: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:  # fmt: skip
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.errors = errors or []
        super().__init__(self.describe())

    def describe(self) -> str:
        """`title: detail (status)`, and the fields a validation problem names."""
        text = self.title if not self.detail or self.detail == self.title else (
            f"{self.title}: {self.detail}"
        )  # fmt: skip
        lines = [f"{text} ({self.status})"]
        for error in self.errors[:10]:
            where = ".".join(str(part) for part in error.get("loc", ()))
            lines.append(f"  {where}: {error.get('msg', '')}".rstrip())
        return "\n".join(lines)


class NotLoggedIn(CtlError):
    """No usable token for this server."""


class NotTheApi(CtlError):
    """A success or redirect that is not the API's JSON (a web page, a login portal)."""


class Unreachable(CtlError):
    """The service could not be reached."""

    exit_code = 3
