"""`python -m git44_keys`: serve the key-manager API, or `rotate-encryption-key`
(see `git44_keys.cli`)."""

import sys

from git44_common.app import serve
from git44_keys.cli import parse_args, run_rotate
from git44_keys.core.config import KeysSettings
from git44_keys.main import SERVICE, create_app


def main() -> None:
    args = parse_args(sys.argv[1:])
    settings = KeysSettings()
    if args.command == "rotate-encryption-key":
        sys.exit(run_rotate(settings))
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
