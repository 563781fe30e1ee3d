"""The mails auth sends: one `MailKind` each, composed from `templates/` (no I/O besides
reading the package's own templates once).

Each kind has a subject, a text and an HTML template (`<kind>.txt`, `<kind>.html`,
placed in `layout.txt` / `layout.html`) and the context fields its caller must give.
Templates are `string.Template`s: `$name` is a context value, `$app_url` the SPA
(`AUTH_PUBLIC_URL`). Values are escaped for HTML; the text part takes them as they are.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from enum import StrEnum
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import urlencode


class MailKind(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"
    PASSWORD_CHANGED = "password_changed"
    API_KEY_CREATED = "api_key_created"
    ACCOUNT_DELETED = "account_deleted"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"


@dataclass(frozen=True)
class MailSpec:
    subject: str
    needs: frozenset[str] = frozenset()  # context fields the caller must give


SPECS: Mapping[MailKind, MailSpec] = {
    MailKind.VERIFY_EMAIL: MailSpec("Verify your email address", frozenset({"link"})),
    MailKind.RESET_PASSWORD: MailSpec("Reset your Git44 password", frozenset({"link"})),
    MailKind.PASSWORD_CHANGED: MailSpec("Your Git44 password was changed"),
    MailKind.API_KEY_CREATED: MailSpec(
        "A new API key was created", frozenset({"key_name", "key_prefix"})
    ),
    MailKind.ACCOUNT_DELETED: MailSpec("Your Git44 account was deleted"),
    MailKind.WEBHOOK_ENDPOINT_DISABLED: MailSpec(
        "A webhook endpoint of yours was disabled", frozenset({"url", "reason"})
    ),
}


def missing_context(kind: MailKind, context: Mapping[str, str]) -> list[str]:
    """The context fields `kind` needs that `context` lacks, sorted (empty when complete)."""
    return sorted(SPECS[kind].needs - context.keys())


def spa_link(public_url: str, path: str, **query: str) -> str:
    """A link into the SPA at `public_url`, e.g. `spa_link(url, "/verify-email", token=t)`."""
    link = f"{public_url.rstrip('/')}/{path.lstrip('/')}"
    return f"{link}?{urlencode(query)}" if query else link


@cache
def _template(name: str) -> Template:
    source = resources.files("git44_auth.mail").joinpath("templates", name)
    return Template(source.read_text(encoding="utf-8"))


def render_text(kind: MailKind, values: Mapping[str, str]) -> str:
    """The plain-text body; a missing value is a KeyError."""
    content = _template(f"{kind.value}.txt").substitute(values).strip()
    return _template("layout.txt").substitute(values, content=content)


def render_html(kind: MailKind, values: Mapping[str, str]) -> str:
    """The HTML body, every value escaped (a name like `<b>` shows as typed)."""
    escaped = {name: html.escape(value, quote=True) for name, value in values.items()}
    content = _template(f"{kind.value}.html").substitute(escaped).strip()
    return _template("layout.html").substitute(escaped, content=content)


def compose(
    kind: MailKind, *, to: str, sender: str, app_url: str, context: Mapping[str, str]
) -> EmailMessage:
    """The mail of `kind` to `to`: headers, a text part and its HTML alternative."""
    subject = SPECS[kind].subject
    values = {**context, "app_url": app_url, "subject": subject}
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = Address(addr_spec=to)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(render_text(kind, values))
    message.add_alternative(render_html(kind, values), subtype="html")
    return message
