"""Where `git44ctl login` keeps its tokens: one JSON file readable by its owner only.

`$XDG_CONFIG_HOME/git44ctl/credentials.json` (default `~/.config/git44ctl/`), mode 0600
in a 0700 directory, one session per auth server:
`{"<auth url>": {"email", "accessToken", "refreshToken"}}`. The file is replaced whole
(written aside, then renamed), so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def default_path() -> Path:
    """The credentials file under $XDG_CONFIG_HOME (or ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "git44ctl" / "credentials.json"


@dataclass(frozen=True)
class Session:
    """A logged-in admin's tokens on one auth server."""

    email: str
    access_token: str
    refresh_token: str | None


class CredentialStore:
    """The sessions in the credentials file at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self, server: str) -> Session | None:
        """The session for `server`, or None."""
        entry = self._read().get(server)
        if not isinstance(entry, dict):
            return None
        try:
            return Session(
                email=str(entry["email"]),
                access_token=str(entry["accessToken"]),
                refresh_token=entry.get("refreshToken"),
            )
        except KeyError:
            return None

    def save(self, server: str, session: Session) -> None:
        """Keep `session` as `server`'s (replacing any)."""
        data = self._read()
        fields = asdict(session)
        data[server] = {
            "email": fields["email"],
            "accessToken": fields["access_token"],
            "refreshToken": fields["refresh_token"],
        }
        self._write(data)

    def forget(self, server: str) -> bool:
        """Drop `server`'s session; False if there was none."""
        data = self._read()
        if data.pop(server, None) is None:
            return False
        self._write(data)
        return True

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        aside = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            with os.fdopen(descriptor, "w") as file:
                os.fchmod(file.fileno(), FILE_MODE)  # a leftover file would keep its mode
                json.dump(data, file, indent=2)
        except BaseException:
            aside.unlink(missing_ok=True)
            raise
        os.replace(aside, self.path)
