"""`python -m git44_auth`: serve the auth API, or `create-admin` / `replay-dead-mail`
(see `git44_auth.cli`)."""

import sys

from git44_auth.cli import parse_args, run_create_admin, run_replay_dead_mail
from git44_auth.core.config import AuthSettings
from git44_auth.main import SERVICE, create_app
from git44_common.app import serve


def main() -> None:
    args = parse_args(sys.argv[1:])
    settings = AuthSettings()
    if args.command == "create-admin":
        sys.exit(run_create_admin(settings, args.email, keep_password=args.keep_password))
    if args.command == "replay-dead-mail":
        sys.exit(run_replay_dead_mail(settings))
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
