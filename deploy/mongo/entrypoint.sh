#!/usr/bin/env bash
# MongoDB's entrypoint in docker-compose.yml. mongod refuses a keyFile that anyone but
# its own user can read, and a compose secret is the host's file bind-mounted with the
# host's owner and mode; so the keyfile is copied, private to mongod's user, before the
# image's own entrypoint runs (on a new volume it creates the root user from
# MONGO_INITDB_ROOT_USERNAME / MONGO_INITDB_ROOT_PASSWORD_FILE).
set -euo pipefail
install -D -m 400 -o mongodb -g mongodb /run/secrets/mongo_keyfile /etc/git44/mongo-keyfile
exec docker-entrypoint.sh "$@"
