"""Compose's preflight: nothing in docker-compose.yml starts while a secret is unusable.

Every file in the secrets directory (compose mounts each secret at /run/secrets/<name>)
is refused when it is missing (not a file: Docker may mount an empty directory in place
of an absent host file), empty, a placeholder (`PLACEHOLDER_SECRETS` of
git44_common.settings), identical to its public development counterpart
(deploy/dev-secrets), a MongoDB or AMQP URL without real credentials, or a MongoDB
keyfile mongod would reject. It names the bad files,
never their content, and exits 1; MongoDB, RabbitMQ and Grafana wait for it to succeed,
and the services wait for them.

GIT44_ENV=development (the development override) reports the same findings and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from git44_common.settings import PLACEHOLDER_SECRETS, connection_credentials_problem

CONNECTION_SCHEMES = ("mongodb://", "mongodb+srv://", "amqp://", "amqps://")
# mongod: 6 to 1024 characters of the base64 alphabet; whitespace is ignored
KEYFILE = re.compile(r"[A-Za-z0-9+/=]{6,1024}")
KEYFILE_NAME = "mongo_keyfile"


def secret_problem(name: str, value: str, development_value: str | None) -> str | None:
    """Why the secret `name` holding `value` may not be used in production, or None."""
    value = value.strip()
    if not value:
        return "is empty"
    if value.lower() in PLACEHOLDER_SECRETS:
        return "holds a placeholder"
    if development_value is not None and value == development_value.strip():
        return "is the public development value (deploy/dev-secrets)"
    if value.startswith(CONNECTION_SCHEMES):
        return connection_credentials_problem(value)
    if name == KEYFILE_NAME and not KEYFILE.fullmatch("".join(value.split())):
        return "is not a MongoDB keyfile (6 to 1024 base64 characters)"
    return None


def read_if_file(path: Path | None) -> str | None:
    return path.read_text() if path is not None and path.is_file() else None


def find_problems(secrets_dir: Path, development_dir: Path | None) -> list[str]:
    """One line per unusable secret in `secrets_dir`."""
    problems = []
    for path in sorted(secrets_dir.iterdir()):
        if not path.is_file():
            problems.append(f"{path.name}: missing (create deploy/secrets/{path.name})")
            continue
        development_value = read_if_file(development_dir / path.name if development_dir else None)
        if problem := secret_problem(path.name, path.read_text(), development_value):
            problems.append(f"{path.name}: {problem}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets-dir", type=Path, default=Path("/run/secrets"))
    parser.add_argument("--development-secrets", type=Path, default=None)
    args = parser.parse_args(argv)
    problems = find_problems(args.secrets_dir, args.development_secrets)
    development = os.environ.get("GIT44_ENV", "production") in ("development", "test")
    for problem in problems:
        sys.stderr.write(f"preflight: {problem}\n")
    if problems and not development:
        sys.stderr.write("preflight: refusing to start (docs/operations.md, 'Secrets')\n")
        return 1
    if problems:
        sys.stdout.write(f"preflight: {len(problems)} allowed in development only\n")
    else:
        sys.stdout.write("preflight: every secret is usable\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
