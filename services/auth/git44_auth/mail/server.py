"""Where auth's mail goes: an SMTP server named by a URL (`AUTH_SMTP_URL`).

    smtp://[user:password@]host[:port]    STARTTLS when the server offers it (port 25)
    smtp://...?starttls=required          refuse to send in clear (port 587)
    smtp://...?starttls=off               never STARTTLS (a relay on this host)
    smtps://[user:password@]host[:port]   TLS from the first byte (port 465)

User and password are percent-decoded, so a `@` in a password is written `%40`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

DEV_SINK_PORT = 1025  # the simulator's SMTP sink (`python -m git44_sim --smtp-port`)
_STARTTLS: dict[str, bool | None] = {"auto": None, "required": True, "off": False}


@dataclass(frozen=True, kw_only=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False  # smtps: TLS from the start
    start_tls: bool | None = None  # None: upgrade when the server offers it

    @property
    def is_development_sink(self) -> bool:
        """True for the simulator's sink: a loopback host on port 1025."""
        return self.port == DEV_SINK_PORT and _is_loopback(self.host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpServer:
    """The server of `url`; ValueError (never quoting the URL: it may hold a password)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("the SMTP URL must look like smtp://host:port or smtps://host:port")
    mode = parse_qs(parts.query).get("starttls", ["auto"])[-1].lower()
    if mode not in _STARTTLS or (parts.scheme == "smtps" and mode != "auto"):
        raise ValueError("starttls= takes required or off, and only with smtp://")
    use_tls = parts.scheme == "smtps"
    start_tls = _STARTTLS[mode]
    try:
        port = parts.port or (465 if use_tls else 587 if start_tls else 25)
    except ValueError:
        raise ValueError("the SMTP URL has an invalid port") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=use_tls,
        start_tls=start_tls,
    )
