"""`python -m git44_jobs`: serve the jobs-api API, or `rotate-webhook-secrets-key`
(see `git44_jobs.cli`)."""

import sys

from git44_common.app import serve
from git44_jobs.cli import parse_args, run_rotate
from git44_jobs.core.config import JobsSettings
from git44_jobs.main import SERVICE, create_app


def main() -> None:
    args = parse_args(sys.argv[1:])
    settings = JobsSettings()
    if args.command == "rotate-webhook-secrets-key":
        sys.exit(run_rotate(settings))
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
