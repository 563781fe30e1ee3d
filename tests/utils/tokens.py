"""A stand-in token issuer for services tested without auth: an Ed25519 key, its JWKS
served over real HTTP on a free port, and tokens minted the way auth mints them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

ISSUER = "git44-auth"
AUDIENCE = "git44"


class TokenIssuer:
    def __init__(self, *, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self.kid = uuid.uuid4().hex[:16]
        self.private_key = Ed25519PrivateKey.generate()
        self.jwks_url = ""

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def mint(
        self,
        user_id: str,
        *,
        role: str = "user",
        token_type: str = "access",
        ttl: int = 3600,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "role": role,
            "type": token_type,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ttl,
            **overrides,
        }
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})

    def bearer(self, user_id: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.mint(user_id, **kwargs)}"}


@contextmanager
def serve_jwks(issuer: TokenIssuer) -> Iterator[str]:
    """Serve the issuer's JWKS on 127.0.0.1 (free port); yields the JWKS URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(issuer.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    issuer.jwks_url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    try:
        yield issuer.jwks_url
    finally:
        server.shutdown()
        server.server_close()
