"""The security suite's stack: every service as a real process with the default limits,
signing with a key this suite holds (so it can mint tokens auth itself would accept, then
break them one property at a time)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, LocalStack

from tests.security.actors import Signer
from tests.utils.stack import running_stack


@pytest.fixture(scope="package")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="package")
def security_stack(
    mongo_url: str,
    amqp_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    signing_key: Ed25519PrivateKey,
) -> Iterator[LocalStack]:
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with running_stack(
        mongo_url=mongo_url,
        amqp_url=amqp_url,
        data_dir=tmp_path_factory.mktemp("security-stack"),
        tag="s",
        extra_env={"AUTH_JWT_PRIVATE_KEYS": pem},
    ) as local:
        yield local


@pytest.fixture(scope="package")
def signer(security_stack: LocalStack, signing_key: Ed25519PrivateKey) -> Signer:
    jwks = httpx.get(f"{security_stack.url('auth')}/.well-known/jwks.json", timeout=10).json()
    assert len(jwks["keys"]) == 1
    return Signer(signing_key, jwks["keys"][0])


@pytest.fixture(scope="package")
def admin_token(security_stack: LocalStack) -> str:
    credentials = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
    response = httpx.post(
        f"{security_stack.url('auth')}/api/auth/login", json=credentials, timeout=30
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token
