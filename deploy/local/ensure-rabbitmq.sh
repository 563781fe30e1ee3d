#!/usr/bin/env bash
# Make sure a RabbitMQ broker answers for `make run` / `make test`.
# AMQP_URL set: only check that it answers. Otherwise use the local broker on 5672,
# starting an installed-but-stopped rabbitmq-server.
set -euo pipefail

url="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"
[ "$port" = "$host" ] && port=5672

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if answers; then exit 0; fi
if [ -n "${AMQP_URL:-}" ]; then
    echo "RabbitMQ at AMQP_URL ($host:$port) does not answer." >&2
    exit 1
fi
if ! command -v rabbitmq-server >/dev/null 2>&1; then
    cat >&2 <<MSG
RabbitMQ is not running on $host:$port and no rabbitmq-server is installed.
Install it (Debian: apt-get install rabbitmq-server) or point AMQP_URL at a broker.
MSG
    exit 1
fi
echo "starting the local rabbitmq-server ..."
rabbitmq-server -detached >/dev/null 2>&1 || true
for _ in $(seq 1 120); do
    if answers; then echo "RabbitMQ answers on $host:$port"; exit 0; fi
    sleep 1
done
echo "rabbitmq-server did not come up on $host:$port within 120 s" >&2
exit 1
