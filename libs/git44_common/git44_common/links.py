"""Validation of user-supplied URLs: Sora share links and webhook callback URLs.

Both validators are strict on purpose (they guard a paid upstream call and an outgoing
request, i.e. SSRF): plain-ASCII `https` URLs only, no credentials, no IP addresses
in any notation a resolver would accept (`2130706433`, `0x7f.1`, `::ffff:127.0.0.1`).
They raise `InvalidLink` (a ValueError, so usable in pydantic validators) whose
message is a short reason that is safe to show and never echoes the input.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Collection
from urllib.parse import SplitResult, urlsplit

from git44_common.exceptions import InvalidLink

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SORA_HOSTS: tuple[str, ...] = ("sora.chatgpt.com",)
DEFAULT_MAX_LENGTH = 2048

_SORA_PATH = re.compile(r"/p/([A-Za-z0-9_-]{3,128})/?")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _split_url(value: object, *, max_length: int, what: str) -> SplitResult:
    if not isinstance(value, str):
        raise InvalidLink(f"The {what} must be a string.")
    if len(value) > max_length:
        raise InvalidLink(f"The {what} is too long (at most {max_length} characters).")
    text = value.strip()
    if not text:
        raise InvalidLink(f"The {what} is empty.")
    if not text.isascii() or _BAD_CHARS.search(text):
        raise InvalidLink(f"The {what} contains characters that are not allowed.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError:
        raise InvalidLink(f"The {what} is not a valid URL.") from None
    if "@" in parts.netloc:
        raise InvalidLink(f"The {what} must not contain credentials.")
    if not parts.hostname:
        raise InvalidLink(f"The {what} has no host.")
    return parts


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _looks_numeric(host: str) -> bool:
    """True for hosts a resolver may read as an IPv4 address (`2130706433`, `0x7f.1`)."""
    labels = host.rstrip(".").split(".")
    return bool(labels) and _NUMERIC_LABEL.fullmatch(labels[-1]) is not None


def _is_ip_host(host: str) -> bool:
    return _ip_literal(host) is not None or _looks_numeric(host)


def is_public_address(ip: IPAddress) -> bool:
    """True when `ip` is globally routable (not private, loopback, link-local, ...)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    blocked = (
        ip.is_private
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)  # fec0::/10
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
    return ip.is_global and not blocked


def validate_sora_link(
    value: object,
    *,
    allowed_hosts: Collection[str] = SORA_HOSTS,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> str:
    """The canonical `https://<host>/p/<id>` form of a Sora share link, or InvalidLink."""
    parts = _split_url(value, max_length=max_length, what="link")
    if parts.scheme.lower() != "https":
        raise InvalidLink("The link must start with https://.")
    host = parts.hostname or ""
    if _is_ip_host(host):
        raise InvalidLink("The link must use a host name, not an IP address.")
    if parts.port not in (None, 443):
        raise InvalidLink("The link must not name a port.")
    if host not in {allowed.lower() for allowed in allowed_hosts}:
        raise InvalidLink("The link must point to " + " or ".join(sorted(allowed_hosts)) + ".")
    match = _SORA_PATH.fullmatch(parts.path)
    if match is None:
        raise InvalidLink("The link is not a Sora share link (expected /p/<id>).")
    return f"https://{host}/p/{match.group(1)}"


def validate_output_link(
    value: object, *, require_https: bool, max_length: int = DEFAULT_MAX_LENGTH
) -> str:
    """The upstream's download link, if it is one a user may be given: an absolute
    http(s) URL with a host and no credentials (https only where `require_https`, i.e.
    in production; the simulator's links are http); else InvalidLink. What the
    upstream says is stored, shown to the user and sent to webhooks, so it is checked."""
    parts = _split_url(value, max_length=max_length, what="download link")
    scheme = parts.scheme.lower()
    if scheme != "https" and (require_https or scheme != "http"):
        raise InvalidLink("The download link must be an https URL.")
    return parts.geturl()


def _check_callback_host(host: str, *, allow_private: bool) -> None:
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise InvalidLink("The callback URL's host is not a valid host name.")
    if allow_private:
        return
    if len(labels) < 2:
        raise InvalidLink("The callback URL must use a fully qualified public host name.")
    if name == "localhost" or name.endswith(_LOCAL_SUFFIXES):
        raise InvalidLink("The callback URL must not point to a local or internal host.")


def validate_callback_url(
    value: object, *, allow_private: bool = False, max_length: int = DEFAULT_MAX_LENGTH
) -> str:
    """`value` if it is a public https URL fit for webhook delivery, else InvalidLink.

    `allow_private` (development only) also admits http, private addresses and local
    host names.
    """
    parts = _split_url(value, max_length=max_length, what="callback URL")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (allow_private and scheme == "http"):
        raise InvalidLink("The callback URL must start with https://.")
    host = parts.hostname or ""
    ip = _ip_literal(host)
    if ip is not None:
        if not allow_private and not is_public_address(ip):
            raise InvalidLink("The callback URL must not point to a private address.")
    elif _looks_numeric(host):
        raise InvalidLink("The callback URL's host is not a valid host name.")
    else:
        _check_callback_host(host, allow_private=allow_private)
    assert isinstance(value, str)
    return value.strip()


async def resolve_public_addresses(host: str, *, allow_private: bool = False) -> list[str]:
    """Resolve `host`; InvalidLink if it does not resolve or any address is non-public.

    Run right before connecting, so a name re-pointed at a private address after
    validation (DNS rebinding) is still refused.
    """
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidLink("The callback host does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise InvalidLink("The callback host does not resolve.")
    for address in addresses:
        ip = _ip_literal(address.split("%", 1)[0])
        if ip is None or not (allow_private or is_public_address(ip)):
            raise InvalidLink("The callback host resolves to a non-public address.")
    return addresses
