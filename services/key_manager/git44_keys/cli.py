"""`python -m git44_keys [serve]` runs key-manager; `rotate-encryption-key` re-encrypts
every stored ScraperAPI key under the newest `KEYS_ENCRYPTION_KEY` entry.

    python -m git44_keys rotate-encryption-key

Run it with the same settings as the service, after every replica was restarted with
the new key list (docs/operations.md, "Rotating the encryption keys"). It exits 1 while
a key is left behind (duplicate, unreadable or changed meanwhile): keep the older
entries until a run exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from git44_common.mongo import create_mongo_client, ensure_indexes
from git44_keys.core.config import KeysSettings
from git44_keys.core.db import INDEXES
from git44_keys.crypto import KeyCipher
from git44_keys.rotation import RotationReport, rotate_encryption_key


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m git44_keys")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the key-manager service (the default)")
    commands.add_parser(
        "rotate-encryption-key",
        help="re-encrypt every stored key under the newest KEYS_ENCRYPTION_KEY entry",
    )
    return parser.parse_args(argv)


async def rotate(settings: KeysSettings) -> RotationReport:
    """Talks to MongoDB only: the service's replicas may keep running."""
    client = create_mongo_client(settings.mongodb_url, app_name="git44-keys-cli")
    try:
        db = client[settings.mongodb_db]
        await ensure_indexes(db, INDEXES)  # the fingerprint's unique index guards the rewrite
        cipher = KeyCipher(settings.encryption_key.get_secret_value())
        return await rotate_encryption_key(db, cipher)
    finally:
        await client.close()


def run_rotate(settings: KeysSettings) -> int:
    report = asyncio.run(rotate(settings))
    sys.stdout.write(f"rotate-encryption-key: {report.summary()}\n")
    for outcome, ids in report.left_behind().items():
        sys.stderr.write(f"  {outcome}: {', '.join(ids)}\n")
    return 0 if report.complete else 1
