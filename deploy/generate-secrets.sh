#!/bin/sh
# Creates the secret files docker-compose.yml needs, with random values, in
# deploy/secrets/ (or the directory given as $1). An existing file is never changed:
# run it again after adding a secret, or delete a file to have it made anew (for a
# password already in use, change it in MongoDB/RabbitMQ/Grafana too: docs/operations.md).
#
#   mongo_root_password            MongoDB's root user (backups, the health check)
#   mongo_keyfile                  the replica set's internal authentication key
#   mongodb_url                    how the services connect: user git44, its own password
#   mongodb_monitor_url            how the MongoDB exporter connects: user git44-monitor
#                                  (clusterMonitor: server and replica-set status only)
#   amqp_url                       the same for RabbitMQ; RabbitMQ's account is made from it
#   grafana_admin_password         Grafana's admin user
#   auth_jwt_private_keys          auth's Ed25519 signing key (PEM)
#   auth_smtp_url                  NOT made here: your mail server, which only you know —
#                                  write smtp[s]://user:password@host:port yourself
#   keys_encryption_key            encrypts the ScraperAPI keys (a Fernet key)
#   webhook_secrets_encryption_key encrypts the webhook signing secrets (a Fernet key)
#
# Permissions: the directory is yours alone (0700); the files are 0644 because each is
# bind-mounted into containers whose processes run as other users (git44, grafana), and
# no other host user can reach them through the directory.
# Needs openssl. Passwords are hex, so they need no escaping inside the URLs.
set -eu

dir="${1:-$(dirname "$0")/secrets}"
mkdir -p "$dir"
chmod 700 "$dir"

password() { openssl rand -hex 24; }
fernet_key() { openssl rand -base64 32 | tr '+/' '-_'; }
mongodb_url() { echo "mongodb://git44:$(password)@mongo:27017/?replicaSet=rs0"; }
mongodb_monitor_url() { echo "mongodb://git44-monitor:$(password)@mongo:27017/?replicaSet=rs0"; }
amqp_url() { echo "amqp://git44:$(password)@rabbitmq:5672/"; }

make_secret() {
    name="$1"
    shift
    if [ -e "$dir/$name" ]; then
        echo "kept     $dir/$name"
        return
    fi
    "$@" > "$dir/$name.tmp"
    chmod 644 "$dir/$name.tmp"
    mv "$dir/$name.tmp" "$dir/$name"
    echo "created  $dir/$name"
}

make_secret mongo_root_password password
make_secret mongo_keyfile openssl rand -base64 756
make_secret mongodb_url mongodb_url
make_secret mongodb_monitor_url mongodb_monitor_url
make_secret amqp_url amqp_url
make_secret grafana_admin_password password
make_secret auth_jwt_private_keys openssl genpkey -algorithm ed25519
make_secret keys_encryption_key fernet_key
make_secret webhook_secrets_encryption_key fernet_key
if [ ! -e "$dir/auth_smtp_url" ]; then
    echo "missing  $dir/auth_smtp_url: write your SMTP server's URL there" \
        "(smtp[s]://user:password@host:port); preflight refuses to start without it"
fi
