"""Signing keys from PEM settings: order, thumbprint kids, public-only JWKS, clear refusals."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from git44_auth.exceptions import KeyConfigError
from git44_auth.keys import KeyRing, private_key_pem


def test_every_pem_block_is_loaded_in_order_and_the_first_signs() -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ring = KeyRing.from_pem(private_key_pem(first) + "\n" + private_key_pem(second))
    assert len(ring.keys) == 2
    assert ring.signer.private_key.public_key() == first.public_key()
    assert [k["kid"] for k in ring.jwks()["keys"]] == [k.kid for k in ring.keys]


def test_kid_is_the_rfc7638_thumbprint_other_libraries_compute() -> None:
    ring = KeyRing.generate()
    jwk = ring.jwks()["keys"][0]
    assert OKPKey.import_key(jwk).thumbprint() == jwk["kid"]


def test_the_same_pem_gives_the_same_kid_on_every_replica() -> None:
    pem = private_key_pem(Ed25519PrivateKey.generate())
    assert KeyRing.from_pem(pem).signer.kid == KeyRing.from_pem(pem).signer.kid


def test_jwks_holds_public_halves_only() -> None:
    jwk = KeyRing.generate().jwks()["keys"][0]
    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")


def test_unusable_key_settings_are_refused_without_echoing_them() -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    broken = "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----"
    for text in ("", "just text", ec_pem, broken):
        with pytest.raises(KeyConfigError) as caught:
            KeyRing.from_pem(text)
        assert "BEGIN" not in str(caught.value)
