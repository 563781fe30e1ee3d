"""`python -m git44_auth [serve]` runs the API; `create-admin` makes an admin account;
`replay-dead-mail` sends the mail in `git44.mail.dead` again (docs/operations.md).

    python -m git44_auth create-admin --email ops@example.com
    AUTH_ADMIN_PASSWORD=... python -m git44_auth create-admin --email ops@example.com
    python -m git44_auth create-admin --email ops@example.com --keep-password

On an existing account `create-admin` sets the given password (ending the refresh
tokens and API keys the old one opened: the account may have been registered by
someone else); `--keep-password` promotes it as it is, if its email is verified.
    python -m git44_auth replay-dead-mail

The password comes from `AUTH_ADMIN_PASSWORD` (env or secrets dir) or is prompted
twice; it is never a command-line argument (those show up in `ps` and shell history).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Sequence

from git44_auth.bootstrap import ExistingAccount, ensure_admin
from git44_auth.context import build_context, load_key_ring
from git44_auth.core.config import AuthSettings
from git44_auth.core.db import INDEXES
from git44_auth.exceptions import CliError
from git44_auth.mail.dead_letters import replay_dead_mail
from git44_auth.passwords import weak_password_reason
from git44_common.amqp import Publisher, Topology, connect
from git44_common.mongo import create_mongo_client, ensure_indexes

PromptFn = Callable[[str], str]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m git44_auth")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the auth API (the default)")
    create = commands.add_parser("create-admin", help="create or promote an admin account")
    create.add_argument("--email", required=True)
    create.add_argument(
        "--keep-password",
        action="store_true",
        help="promote an existing, email-verified account without setting its password",
    )
    commands.add_parser("replay-dead-mail", help="send the dead-lettered mail again")
    return parser.parse_args(argv)


def admin_password(settings: AuthSettings, prompt: PromptFn = getpass.getpass) -> str:
    if settings.admin_password is not None:
        password = settings.admin_password.get_secret_value()
    else:
        password = prompt("Password: ")
        if prompt("Repeat password: ") != password:
            raise CliError("the passwords do not match")
    reason = weak_password_reason(password, min_length=settings.password_min_length)
    if reason is not None:
        raise CliError(reason)
    return password


def check_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not (local and at and domain) or any(c.isspace() for c in email):
        raise CliError("that is not an email address")
    return email


async def create_admin(
    settings: AuthSettings,
    *,
    email: str,
    password: str,
    existing: ExistingAccount = ExistingAccount.SET_PASSWORD,
) -> str:
    """What `ensure_admin` did; talks to MongoDB only."""
    client = create_mongo_client(settings.mongodb_url, app_name="git44-auth-cli")
    try:
        db = client[settings.mongodb_db]
        await ensure_indexes(db, INDEXES)
        context = build_context(settings, db, load_key_ring(settings))
        return await ensure_admin(context, email=email, password=password, existing=existing)
    finally:
        await client.close()


def run_create_admin(
    settings: AuthSettings,
    email: str,
    prompt: PromptFn = getpass.getpass,
    *,
    keep_password: bool = False,
) -> int:
    """Exit status: 0 done, 1 refused (an unverified account with --keep-password), 2
    bad input. With --keep-password the password is used only if the account is new."""
    try:
        address = check_email(email)
        password = admin_password(settings, prompt)
    except CliError as exc:
        sys.stderr.write(f"create-admin: {exc}\n")
        return 2
    existing = ExistingAccount.KEEP_PASSWORD if keep_password else ExistingAccount.SET_PASSWORD
    outcome = asyncio.run(
        create_admin(settings, email=address, password=password, existing=existing)
    )
    if outcome == "refused":
        sys.stderr.write(
            f"create-admin: {address} is not verified; run without --keep-password to set "
            "the password (which also revokes its sessions and API keys)\n"
        )
        return 1
    sys.stdout.write(f"admin {address}: {outcome}\n")
    return 0


async def replay_mail(settings: AuthSettings) -> int:
    """Move `git44.mail.dead` back to `git44.mail`; talks to RabbitMQ only."""
    connection = await connect(settings.amqp_url, name="git44-auth-cli")
    try:
        channel = await connection.channel(publisher_confirms=True)
        publisher = Publisher(channel, Topology(namespace=settings.amqp_namespace))
        return await replay_dead_mail(channel, publisher)
    finally:
        await connection.close()


def run_replay_dead_mail(settings: AuthSettings) -> int:
    replayed = asyncio.run(replay_mail(settings))
    sys.stdout.write(f"replayed {replayed} dead mail(s)\n")
    return 0
