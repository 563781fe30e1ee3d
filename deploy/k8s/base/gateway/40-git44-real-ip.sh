#!/bin/sh
# GENERATED from deploy/gateway/40-git44-real-ip.sh by `python -m tools.k8s_manifests`: edit that file.
# Renders the gateway's trusted proxies (GATEWAY_TRUSTED_PROXIES: addresses or CIDRs,
# separated by spaces or commas; empty by default) as nginx `set_real_ip_from` lines.
# Only a peer in this list may tell the gateway the client's address (X-Forwarded-For);
# anyone else's header is ignored. The nginx image runs /docker-entrypoint.d/*.sh before
# nginx starts; deploy/local/gateway.py writes the same file for `make run` and tests.
set -eu
out="${GATEWAY_REAL_IP_CONF:-/etc/nginx/conf.d/git44-real-ip.conf}"
echo "# trusted proxies (GATEWAY_TRUSTED_PROXIES), rendered at start" > "$out"
for proxy in $(echo "${GATEWAY_TRUSTED_PROXIES:-}" | tr ',' ' '); do
    case "$proxy" in
        *[!0-9a-fA-F.:/]*) echo "GATEWAY_TRUSTED_PROXIES: not an address or CIDR: $proxy" >&2; exit 1 ;;
    esac
    echo "set_real_ip_from $proxy;" >> "$out"
done
