#!/usr/bin/env bash
# RabbitMQ's entrypoint in docker-compose.yml: its account is the user and password of
# the amqp_url secret the services connect with, so the two cannot disagree. RabbitMQ
# creates the account only on a new data volume; on an existing one, change the
# password with rabbitmqctl (docs/operations.md). URL-encoded characters are decoded.
set -euo pipefail
url="$(< /run/secrets/amqp_url)"
if [[ "$url" != amqp*://*:*@* ]]; then
    echo "the amqp_url secret names no user and password (amqp://user:password@rabbitmq:5672/)" >&2
    exit 1
fi
credentials="${url#*://}"
credentials="${credentials%%@*}"
percent_decode() { printf '%b' "${1//%/\\x}"; }
RABBITMQ_DEFAULT_USER="$(percent_decode "${credentials%%:*}")"
RABBITMQ_DEFAULT_PASS="$(percent_decode "${credentials#*:}")"
export RABBITMQ_DEFAULT_USER RABBITMQ_DEFAULT_PASS
exec docker-entrypoint.sh "$@"
