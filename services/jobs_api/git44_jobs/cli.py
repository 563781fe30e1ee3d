"""`python -m git44_jobs [serve]` runs jobs-api; `rotate-webhook-secrets-key` brings every
stored webhook signing secret under the newest `WEBHOOK_SECRETS_ENCRYPTION_KEY` entry
(plain-text ones encrypted, older ciphertexts re-encrypted).

    python -m git44_jobs rotate-webhook-secrets-key

Run it with the same settings as the services, after jobs-api and every worker were
restarted with the new key list (docs/operations.md, "Rotating the encryption keys").
It exits 1 while a secret is left behind: keep the older entries until a run exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from collections.abc import Sequence

from git44_common.mongo import create_mongo_client
from git44_jobs.core.config import JobsSettings
from git44_jobs.webhooks.rotation import Outcome, rotate_webhook_secrets

_DONE = (Outcome.ENCRYPTED, Outcome.ROTATED, Outcome.CURRENT)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m git44_jobs")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the jobs-api service (the default)")
    commands.add_parser(
        "rotate-webhook-secrets-key",
        help="encrypt every webhook secret under the newest WEBHOOK_SECRETS_ENCRYPTION_KEY entry",
    )
    return parser.parse_args(argv)


async def rotate(settings: JobsSettings) -> Counter[Outcome]:
    """Talks to MongoDB only: jobs-api and the workers may keep running."""
    client = create_mongo_client(settings.mongodb_url, app_name="git44-jobs-cli")
    try:
        keys = settings.webhook_secret_keys()
        return await rotate_webhook_secrets(client[settings.mongodb_db], keys)
    finally:
        await client.close()


def run_rotate(settings: JobsSettings) -> int:
    outcomes = asyncio.run(rotate(settings))
    counts = ", ".join(f"{outcomes[outcome]} {outcome}" for outcome in Outcome)
    sys.stdout.write(f"rotate-webhook-secrets-key: {counts}\n")
    return 0 if all(outcome in _DONE for outcome in outcomes) else 1
