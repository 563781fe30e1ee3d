#!/bin/sh
# The MongoDB exporter's entrypoint (deploy/mongodb-exporter/Dockerfile): it connects
# with the account of the mongodb_url secret, the one the services use, so there is no
# other password to make, rotate or forget. The exporter reads MONGODB_URI.
set -eu
MONGODB_URI="$(cat /run/secrets/mongodb_url)"
export MONGODB_URI
exec /bin/mongodb_exporter "$@"
