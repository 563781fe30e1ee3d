#!/usr/bin/env bash
# Re-resolve deploy/requirements.lock (the service image's hash-pinned runtime
# dependencies) at exactly the versions of the top-level requirements.lock.
# Run after `make lock`; tests/deploy/test_image.py checks the two locks agree.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
grep -E '^[A-Za-z0-9].*==' requirements.lock | sed 's/ \\$//' >"$constraints"
"$UV" pip compile deploy/requirements.in -c "$constraints" \
    --generate-hashes --python-version 3.11 --no-header --no-annotate \
    --no-emit-package git44-common --no-emit-package git44-sim --no-emit-package git44-auth \
    --no-emit-package git44-jobs --no-emit-package git44-worker --no-emit-package git44-keys \
    -o deploy/requirements.lock
