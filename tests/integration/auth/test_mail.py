"""Mail through RabbitMQ to a real SMTP server (aiosmtpd, in process): a password change
and a new API key reach the user's inbox; an SMTP outage delays mail, never loses it;
a refused recipient or a mail out of tries ends as a dead letter, and the next mail
still goes out."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI
from prometheus_client import REGISTRY

from git44_auth.cli import replay_mail
from git44_auth.context import AuthContext
from git44_auth.core.config import AuthSettings
from git44_auth.crud.mail_outbox import count_mail
from git44_auth.mail.messages import MailKind
from git44_auth.mail.models import MailRequested
from git44_auth.mail.outbox import MailOutbox
from git44_common.amqp import Topology
from tests.integration.auth.conftest import LogCapture
from tests.integration.auth.flows import NEW_PASSWORD, PASSWORD, bearer, new_email, register
from tests.utils.smtp import SmtpSink
from tests.utils.waiting import eventually

pytestmark = pytest.mark.integration

FAST_RETRIES = [1.0] * 20  # 1 s apart (the smallest delay tier), long enough to outlast an outage

RunApp = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def auth_settings(settings_factory: Callable[..., AuthSettings], sink: SmtpSink) -> AuthSettings:
    return settings_factory(
        smtp_url=sink.url, mail_retry_delays_seconds=FAST_RETRIES, mail_relay_interval_seconds=0.2
    )


def mails_counted(outcome: str, kind: MailKind = MailKind.PASSWORD_CHANGED) -> float:
    labels = {"kind": kind.value, "outcome": outcome}
    return REGISTRY.get_sample_value("git44_auth_mails_total", labels) or 0.0


async def change_password(client: httpx.AsyncClient, email: str) -> httpx.Response:
    session = await register(client, email)
    body = {
        "currentPassword": PASSWORD,
        "newPassword": NEW_PASSWORD,
        "confirmPassword": NEW_PASSWORD,
    }
    return await client.post(
        "/api/auth/password", json=body, headers=bearer(session["accessToken"])
    )


async def dead_letters(
    amqp_connection: AbstractRobustConnection, namespace: str, *, count: int = 1
) -> list[MailRequested]:
    """The first `count` mails on `git44.mail.dead`, taken off the queue."""
    taken: list[MailRequested] = []
    async with amqp_connection.channel() as channel:
        queue = await channel.get_queue(Topology(namespace=namespace).mail_dead_queue)

        async def take() -> bool:
            message = await queue.get(no_ack=True, fail=False)
            if message is not None:
                taken.append(MailRequested.model_validate_json(message.body))
            return len(taken) >= count

        await eventually(take, within=20)
    return taken


async def test_a_password_change_is_mailed(
    client: httpx.AsyncClient, sink: SmtpSink, auth_settings: AuthSettings
) -> None:
    email = new_email()
    assert (await change_password(client, email)).status_code == 200

    mail = await sink.wait_for_subject(email, "Your Git44 password was changed")
    assert mail.to == (email,)
    assert mail.text is not None
    assert "the password of your Git44 account was just changed" in mail.text
    assert mail.html is not None
    assert f'href="{auth_settings.public_url}"' in mail.html


async def test_a_new_api_key_is_mailed_but_not_the_first(
    client: httpx.AsyncClient, sink: SmtpSink
) -> None:
    email = new_email()
    session = await register(client, email)  # its first key ("Default") is not announced
    created = await client.post(
        "/api/auth/api-keys", json={"name": "ci <deploy>"}, headers=bearer(session["accessToken"])
    )
    assert created.status_code == 201

    mail = await sink.wait_for_subject(email, "A new API key was created")
    key = created.json()
    assert mail.text is not None
    assert mail.html is not None
    assert "ci <deploy>" in mail.text
    assert "ci &lt;deploy&gt;" in mail.html
    assert f"{key['prefix']}…" in mail.text
    assert key["key"] not in mail.text + mail.html  # the secret is shown once, in the answer


async def test_mail_survives_an_smtp_outage(
    client: httpx.AsyncClient, sink: SmtpSink, log_capture: LogCapture
) -> None:
    email = new_email()
    await sink.stop()
    retried_before = mails_counted("retrying")

    started = time.monotonic()
    assert (await change_password(client, email)).status_code == 200
    assert time.monotonic() - started < 2  # the request never waits for the SMTP server

    async def retried_twice() -> bool:
        return mails_counted("retrying") >= retried_before + 2

    await eventually(retried_twice, within=15)  # two tries refused: the server is down
    assert sink.mail_to(email) == []
    await sink.start()

    await sink.wait_for_subject(email, "Your Git44 password was changed")
    ours = [line for line in log_capture.raw.lines if "'name': 'git44_auth.mail" in line]
    assert any("retrying (SMTPConnectError" in line for line in ours)  # they said why
    assert not [line for line in ours if email in line]  # by mail id, never the address


async def test_a_refused_recipient_is_dead_lettered_and_mail_goes_on(
    auth_app: FastAPI,
    sink: SmtpSink,
    amqp_connection: AbstractRobustConnection,
    auth_settings: AuthSettings,
) -> None:
    ctx: AuthContext = auth_app.state.context
    retried_before = mails_counted("retrying")

    mail_id = await ctx.mail.send(MailKind.PASSWORD_CHANGED, to="ghost@nowhere.invalid")
    [dead] = await dead_letters(amqp_connection, auth_settings.amqp_namespace)

    assert (dead.mail_id, dead.to, dead.kind) == (
        mail_id,
        "ghost@nowhere.invalid",
        "password_changed",
    )
    assert dead.attempt == 1  # a 550 is final: no retry
    assert dead.last_error is not None
    assert dead.last_error.startswith("550 ")
    assert mails_counted("retrying") == retried_before
    email = new_email()
    await ctx.mail.send(MailKind.PASSWORD_CHANGED, to=email)
    await sink.wait_for_mail(email)


async def test_a_mail_out_of_tries_is_dead_lettered(
    settings_factory: Callable[..., AuthSettings],
    run_app: RunApp,
    sink: SmtpSink,
    amqp_connection: AbstractRobustConnection,
) -> None:
    settings = settings_factory(smtp_url=sink.url, mail_retry_delays_seconds=[1.0])
    await sink.stop()
    async with run_app(settings) as client:
        email = new_email()
        assert (await change_password(client, email)).status_code == 200
        [dead] = await dead_letters(amqp_connection, settings.amqp_namespace)

    assert dead.to == email
    assert dead.attempt == 2  # the first try and its one retry
    assert dead.last_error is not None
    assert "Connect" in dead.last_error


async def test_dead_mail_is_replayed_once_the_cause_is_fixed(
    settings_factory: Callable[..., AuthSettings],
    run_app: RunApp,
    sink: SmtpSink,
    amqp_connection: AbstractRobustConnection,
) -> None:
    settings = settings_factory(smtp_url=sink.url, mail_retry_delays_seconds=[])  # one try
    dead_queue = Topology(namespace=settings.amqp_namespace).mail_dead_queue
    await sink.stop()
    async with run_app(settings) as client, amqp_connection.channel() as channel:
        email = new_email()
        assert (await change_password(client, email)).status_code == 200

        async def buried() -> bool:
            queue = await channel.declare_queue(dead_queue, passive=True)
            # the registration's verification mail and the password change's
            return queue.declaration_result.message_count == 2

        await eventually(buried, within=30)  # slow on a busy machine
        await sink.start()
        assert await replay_mail(settings) == 2  # `python -m git44_auth replay-dead-mail`

        await sink.wait_for_subject(email, "Your Git44 password was changed")
        assert await replay_mail(settings) == 0


async def test_mail_the_broker_did_not_take_is_relayed(auth_app: FastAPI, sink: SmtpSink) -> None:
    ctx: AuthContext = auth_app.state.context
    # no broker at hand (as in the CLI, or while RabbitMQ is down): the mail waits in the outbox
    offline = MailOutbox(db=ctx.db, publisher=None, public_url="http://x", publish_timeout=1)
    email = new_email()

    await offline.send(MailKind.ACCOUNT_DELETED, to=email)

    [mail] = await sink.wait_for_mail(email)  # the running app's relay published it
    assert mail.subject == "Your Git44 account was deleted"

    async def outbox_empty() -> bool:
        return await count_mail(ctx.db) == 0

    await eventually(outbox_empty)


async def test_a_mail_without_its_context_is_refused_at_once(auth_app: FastAPI) -> None:
    ctx: AuthContext = auth_app.state.context
    with pytest.raises(ValueError, match="needs link"):
        await ctx.mail.send(MailKind.RESET_PASSWORD, to=new_email())
