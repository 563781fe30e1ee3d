"""`python -m git44_jobs`: serve the jobs-api API."""

from git44_common.app import serve
from git44_jobs.core.config import JobsSettings
from git44_jobs.main import SERVICE, create_app


def main() -> None:
    settings = JobsSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
