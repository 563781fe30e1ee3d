"""`python -m git44_auth`: serve the auth API."""

from git44_auth.core.config import AuthSettings
from git44_auth.main import SERVICE, create_app
from git44_common.app import serve


def main() -> None:
    settings = AuthSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
