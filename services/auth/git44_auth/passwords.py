"""Password hashing with bcrypt, off the event loop.

bcrypt takes ~210 ms a hash at cost 12, so every hash and check runs in a worker
thread. Logins for unknown emails check the password against `dummy_hash` (made with
the same cost at start-up) so they take as long as wrong-password logins and the
response time does not reveal which emails are registered.
"""

from __future__ import annotations

import asyncio
import secrets

import bcrypt

MAX_PASSWORD_BYTES = 72  # bcrypt 5 raises ValueError beyond this; validation caps it first


def weak_password_reason(password: str, *, min_length: int) -> str | None:
    """Why a new password is refused (AUTH_PASSWORD_MIN_LENGTH, bcrypt's byte cap), or
    None. The one rule for the API and the `create-admin` command."""
    if len(password) < min_length:
        return f"the password needs at least {min_length} characters"
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return f"the password may have at most {MAX_PASSWORD_BYTES} bytes"
    return None


class PasswordHasher:
    def __init__(self, *, rounds: int) -> None:
        self.rounds = rounds
        self._dummy_hash: bytes | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hash_sync, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """True if `password` matches; with no hash, burns the same time and says False."""
        if password_hash is None:
            await asyncio.to_thread(bcrypt.checkpw, _encode(password), await self.dummy_hash())
            return False
        return await asyncio.to_thread(bcrypt.checkpw, _encode(password), password_hash.encode())

    async def dummy_hash(self) -> bytes:
        if self._dummy_hash is None:
            self._dummy_hash = (await self.hash(secrets.token_urlsafe(16))).encode()
        return self._dummy_hash

    def _hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(_encode(password), bcrypt.gensalt(rounds=self.rounds)).decode()


def _encode(password: str) -> bytes:
    # Longer inputs are refused by validation; truncating here keeps bcrypt from raising.
    return password.encode()[:MAX_PASSWORD_BYTES]
