#!/bin/sh
# The MongoDB exporter's entrypoint (deploy/mongodb-exporter/Dockerfile): it connects
# with the account of the mongodb_monitor_url secret (git44-monitor, clusterMonitor:
# status, never documents). The exporter reads MONGODB_URI.
set -eu
MONGODB_URI="$(cat /run/secrets/mongodb_monitor_url)"
export MONGODB_URI
exec /bin/mongodb_exporter "$@"
