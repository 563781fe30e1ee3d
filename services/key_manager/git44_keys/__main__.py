"""`python -m git44_keys`: serve the key-manager API."""

from git44_common.app import serve
from git44_keys.core.config import KeysSettings
from git44_keys.main import SERVICE, create_app


def main() -> None:
    settings = KeysSettings()
    serve(create_app(settings), settings, service=SERVICE)


if __name__ == "__main__":
    main()
