"""The simulator's SMTP sink: mail sent to it over SMTP is listed at `/_control/mail`,
newest first, filtered by recipient; `.invalid` recipients are refused with 550."""

from __future__ import annotations

import uuid
from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest

from git44_sim.cli import parse_options
from git44_sim.client import SimControl


def mail(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Git44 <no-reply@git44.local>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(f"text of {subject}\nsecond line")
    message.add_alternative(f"<p>html of {subject}</p>", subtype="html")
    return message


async def test_received_mail_is_listed_newest_first_by_recipient(
    sim: SimControl, sim_smtp_port: int, http: httpx.AsyncClient
) -> None:
    alice, bob = (f"{name}-{uuid.uuid4().hex[:8]}@example.com" for name in ("alice", "bob"))
    for to, subject in ((alice, "first"), (bob, "for bob"), (alice, "second")):
        await aiosmtplib.send(mail(to, subject), hostname="127.0.0.1", port=sim_smtp_port)

    to_alice = await sim.list_mail(to=alice.upper())
    raw = await http.get(f"{sim.base_url}/_control/mail", params={"to": bob})

    assert [m.subject for m in to_alice] == ["second", "first"]
    assert to_alice[0].to == [alice]
    assert to_alice[0].text == "text of second\nsecond line\n"
    assert to_alice[0].html == "<p>html of second</p>\n"
    assert to_alice[0].received_at >= to_alice[1].received_at
    [for_bob] = raw.json()["data"]
    assert set(for_bob) == {"to", "subject", "text", "html", "receivedAt"}
    assert (for_bob["to"], for_bob["subject"]) == ([bob], "for bob")
    everything = [m.subject for m in await sim.list_mail()]
    assert everything[:3] == ["second", "for bob", "first"]


async def test_a_recipient_at_an_invalid_domain_is_refused(
    sim: SimControl, sim_smtp_port: int
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await aiosmtplib.send(
            mail("nobody@nowhere.invalid", "bounce"), hostname="127.0.0.1", port=sim_smtp_port
        )
    assert [r.code for r in refused.value.recipients] == [550]
    assert await sim.list_mail(to="nobody@nowhere.invalid") == []


@pytest.mark.parametrize(
    ("argv", "env", "port"),
    [
        ([], {}, 1025),
        (["--smtp-port", "2525"], {}, 2525),
        ([], {"SIM_SMTP_PORT": "off"}, None),
        (["--smtp-port", "0"], {"SIM_SMTP_PORT": "2525"}, None),
    ],
)
def test_the_sink_port_defaults_to_1025_and_can_be_turned_off(
    argv: list[str], env: dict[str, str], port: int | None
) -> None:
    assert parse_options(argv, env).smtp_port == port
