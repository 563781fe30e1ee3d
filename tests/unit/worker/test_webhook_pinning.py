"""Webhook delivery connects to the address it checked (DNS rebinding), under the name
it checked it for."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from git44_common.webhook_secrets import new_webhook_secret
from git44_worker import webhooks
from git44_worker.webhooks import WebhookSender, pin_to_address
from tests.utils.receiver import Receiver, serving_receiver


def test_an_https_url_is_pinned_with_its_name_kept_for_host_and_tls() -> None:
    pinned = pin_to_address("https://hooks.example.com:8443/in?x=1", "203.0.113.7")
    assert pinned.url == "https://203.0.113.7:8443/in?x=1"
    assert pinned.headers == {"host": "hooks.example.com:8443", "connection": "close"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.com"}


def test_an_ipv6_address_is_bracketed_and_plain_http_has_no_server_name() -> None:
    pinned = pin_to_address("http://hooks.example.com", "2001:db8::1")
    assert pinned.url == "http://[2001:db8::1]/"
    assert pinned.headers == {"host": "hooks.example.com", "connection": "close"}
    assert pinned.extensions == {}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver("/in") as hooks:
        yield hooks


def hosts(receiver: Receiver) -> list[str]:
    return [headers["host"] for headers, _ in receiver.received]


async def test_the_request_goes_to_the_checked_address_not_a_second_lookup(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hooks.rebind.test` does not resolve here: only the checked address can be used.
    The first address refuses the connection, so the next is tried."""
    lookups: list[str] = []

    async def resolve(host: str, *, allow_private: bool = False) -> list[str]:
        lookups.append(host)
        return ["::1", "127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve_public_addresses", resolve)
    sender = WebhookSender(timeout=5, allow_private=True)
    url = f"http://hooks.rebind.test:{receiver.port}/in"
    try:
        result = await sender.send(url, secrets=[new_webhook_secret()], msg_id="m1", body="{}")
    finally:
        await sender.aclose()
    assert (result.status_code, result.error) == (204, None)
    assert lookups == ["hooks.rebind.test"]
    assert hosts(receiver) == [f"hooks.rebind.test:{receiver.port}"]


async def test_a_destination_that_accepts_no_connection_is_a_failed_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def resolve(host: str, *, allow_private: bool = False) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve_public_addresses", resolve)
    sender = WebhookSender(timeout=5, allow_private=True)
    try:
        result = await sender.send(
            "http://hooks.rebind.test:9/in", secrets=[new_webhook_secret()], msg_id="m", body="{}"
        )
    finally:
        await sender.aclose()
    assert (result.status_code, result.error) == (None, "ConnectError")


def _self_signed(name: str, directory: Path) -> tuple[Path, Path]:
    """A certificate for `name` (its own CA) and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_https_to_a_pinned_address_checks_the_certificate_for_the_host_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TLS to 127.0.0.1 succeeds because the certificate is checked against the URL's
    host name (SNI), not the address; a certificate for another name is refused."""
    cert_file, key_file = _self_signed("hooks.rebind.test", tmp_path)

    async def resolve(host: str, *, allow_private: bool = False) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve_public_addresses", resolve)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    transport = httpx.AsyncHTTPTransport(verify=trusting)
    sender = WebhookSender(timeout=5, allow_private=True, transport=transport)
    secret = new_webhook_secret()
    async with serving_receiver("/in", tls=(cert_file, key_file)) as receiver:
        port = receiver.port
        try:
            good = await sender.send(
                f"https://hooks.rebind.test:{port}/in", secrets=[secret], msg_id="m", body="{}"
            )
            wrong_name = await sender.send(
                f"https://other.rebind.test:{port}/in", secrets=[secret], msg_id="m", body="{}"
            )
        finally:
            await sender.aclose()
    assert (good.status_code, good.error) == (204, None)
    assert hosts(receiver) == [f"hooks.rebind.test:{port}"]
    assert (wrong_name.status_code, wrong_name.error) == (None, "ConnectError")
