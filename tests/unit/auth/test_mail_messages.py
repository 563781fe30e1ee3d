"""Composing mails: a text part and its HTML alternative, values escaped in HTML only,
links into the SPA, and the context each kind needs."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from git44_auth.mail.messages import SPECS, MailKind, compose, missing_context, spa_link

SENDER = "Git44 <no-reply@git44.example>"
APP_URL = "https://app.git44.example"
# every field any kind needs, with values that would break HTML if not escaped
CONTEXT = {
    "link": "https://app.git44.example/reset-password?token=a1b2&user=u1",
    "key_name": "<script>alert('ci')</script> & co",
    "key_prefix": "g44_Ab12Cd",
    "url": "https://hooks.example.com/in?a=1&b=<2>",
    "reason": "every delivery failed for 5 days (last: HTTP 500)",
}


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


@pytest.mark.parametrize("kind", list(MailKind))
def test_every_kind_has_a_text_and_an_html_part(kind: MailKind) -> None:
    message = compose(kind, to="ada@example.com", sender=SENDER, app_url=APP_URL, context=CONTEXT)

    text, html = parts(message)
    assert message["Subject"] == SPECS[kind].subject
    assert message["To"] == "ada@example.com"
    assert message["From"] == SENDER
    assert message["Message-ID"].endswith("@git44.example>")
    assert message.get_content_type() == "multipart/alternative"
    assert APP_URL in text
    assert f'href="{APP_URL}"' in html
    assert "$" not in text
    assert "$" not in html
    assert html.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("kind", [MailKind.VERIFY_EMAIL, MailKind.RESET_PASSWORD])
def test_links_are_in_both_parts_escaped_for_html(kind: MailKind) -> None:
    message = compose(kind, to="ada@example.com", sender=SENDER, app_url=APP_URL, context=CONTEXT)

    text, html = parts(message)
    assert CONTEXT["link"] in text
    assert 'href="https://app.git44.example/reset-password?token=a1b2&amp;user=u1"' in html


def test_values_are_escaped_in_html_and_kept_in_text() -> None:
    message = compose(
        MailKind.API_KEY_CREATED,
        to="ada@example.com",
        sender=SENDER,
        app_url=APP_URL,
        context=CONTEXT,
    )

    text, html = parts(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;ci&#x27;)&lt;/script&gt; &amp; co" in html
    assert CONTEXT["key_name"] in text
    assert "g44_Ab12Cd" in text
    assert "g44_Ab12Cd" in html


def test_missing_context_names_what_a_kind_needs() -> None:
    assert missing_context(MailKind.VERIFY_EMAIL, {}) == ["link"]
    assert missing_context(MailKind.API_KEY_CREATED, {"key_name": "ci"}) == ["key_prefix"]
    assert missing_context(MailKind.PASSWORD_CHANGED, {}) == []
    with pytest.raises(KeyError):
        compose(MailKind.RESET_PASSWORD, to="a@example.com", sender=SENDER, app_url=APP_URL,
                context={})  # fmt: skip


def test_an_address_that_could_inject_headers_is_refused() -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the email package's own error
        compose(
            MailKind.PASSWORD_CHANGED,
            to="ada@example.com\r\nBcc: eve@example.com",
            sender=SENDER,
            app_url=APP_URL,
            context={},
        )


def test_spa_links_join_the_public_url_and_encode_the_query() -> None:
    assert spa_link("http://localhost:5173/", "/verify-email", token="a b&c") == (
        "http://localhost:5173/verify-email?token=a+b%26c"
    )
    assert spa_link("https://app.example", "settings") == "https://app.example/settings"
