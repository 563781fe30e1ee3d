"""Auth's token signing keys: Ed25519 keys named by their RFC 7638 thumbprint.

A `KeyRing` holds every configured key; the first signs new tokens and all of them are
published in the JWKS, so tokens signed by a key being retired keep verifying until
the key is removed from the configuration. Naming keys by thumbprint means every
replica configured with the same PEMs announces the same `kid`s.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from git44_auth.exceptions import KeyConfigError

ALGORITHM = "EdDSA"
_PEM_BLOCK = re.compile(r"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", re.S)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        x = _b64url(_raw_public_bytes(private_key))
        # RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
        return cls(
            kid=_b64url(hashlib.sha256(canonical.encode()).digest()), private_key=private_key
        )

    def public_jwk(self) -> dict[str, str]:
        x = _b64url(_raw_public_bytes(self.private_key))
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }


def _raw_public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


class KeyRing:
    """The configured keys; `signer` is the first."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise KeyConfigError("at least one signing key is needed")
        self.keys = keys

    @property
    def signer(self) -> SigningKey:
        return self.keys[0]

    @classmethod
    def from_pem(cls, text: str) -> KeyRing:
        """Every `PRIVATE KEY` PEM block in `text`, in order; each must be Ed25519."""
        # env files often carry a PEM on one line with literal "\n" separators
        blocks = _PEM_BLOCK.findall(text.replace("\\n", "\n"))
        if not blocks:
            raise KeyConfigError("no PEM 'PRIVATE KEY' block found in the signing key setting")
        keys: list[SigningKey] = []
        for number, block in enumerate(blocks, start=1):
            try:
                loaded = serialization.load_pem_private_key(block.encode(), password=None)
            except ValueError:
                raise KeyConfigError(f"signing key #{number} is not a valid PEM key") from None
            if not isinstance(loaded, Ed25519PrivateKey):
                raise KeyConfigError(f"signing key #{number} is not an Ed25519 key")
            keys.append(SigningKey.from_private_key(loaded))
        return cls(keys)

    @classmethod
    def generate(cls) -> KeyRing:
        """A ring with one fresh key (development: every restart gets a new key)."""
        return cls([SigningKey.from_private_key(Ed25519PrivateKey.generate())])

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        signer = self.signer
        return jwt.encode(
            claims, signer.private_key, algorithm=ALGORITHM, headers={"kid": signer.kid}
        )


def private_key_pem(private_key: Ed25519PrivateKey) -> str:
    """PKCS#8 PEM of `private_key` (for the key-generation helper and tests)."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
