#!/usr/bin/env bash
# Debian packages the deployment tests need: promtool (package `prometheus`) to check
# the Prometheus config, alert rules and /metrics output, amtool (package
# `prometheus-alertmanager`) to check the Alertmanager config, nginx for `nginx -t` and
# the gateway e2e test, Node.js/npm for the public contract's TypeScript types,
# Chromium for the browser test and haproxy for the RabbitMQ cluster chaos scenario
# (`make chaos`). Idempotent: does nothing when every tool is already installed.
# Package daemons are NOT started (only the binaries are used).
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# Node.js and npm: the public contract's TypeScript types (docs/clients/typescript)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# jq and openssl: the curl examples of docs/api.md (tests/e2e/test_docs_examples.py)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# Chromium: the SPA path in a real browser (tests/browser, Playwright drives it)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# haproxy: the TCP balancer in front of a three-node RabbitMQ cluster (tests/chaos)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: promtool, amtool, nginx, node, jq, openssl, chromium and haproxy already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
fi

# Keep the packages' init scripts from starting daemons (nginx on :80, prometheus on :9090,
# alertmanager on :9093, haproxy).
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    created_policy=1
fi
cleanup() { if [ -n "$created_policy" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
