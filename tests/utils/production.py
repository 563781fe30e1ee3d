"""The connection settings production insists on (credentials that are no placeholder),
for tests that build a service's settings in production mode."""

from __future__ import annotations

from pathlib import Path

PRODUCTION_CONNECTIONS = {
    "mongodb_url": "mongodb://git44:a-real-app-password@mongo:27017/?replicaSet=rs0",
    "amqp_url": "amqp://git44:a-real-broker-password@rabbitmq:5672/",
}
# auth's mail server: production refuses none, the development sink or a placeholder
PRODUCTION_SMTP_URL = "smtps://git44:a-real-mail-password@mail.example.com"
# auth's links in mails: production refuses anything but a public https address
PRODUCTION_PUBLIC_URL = "https://app.example.com"


def write_connection_secrets(secrets_dir: Path) -> None:
    """The secret files `mongodb_url` and `amqp_url`, as compose mounts them."""
    for name, url in PRODUCTION_CONNECTIONS.items():
        (secrets_dir / name).write_text(url + "\n")
