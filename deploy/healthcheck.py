#!/usr/bin/env python3
"""Container health check: exit 0 when the service's readiness endpoint answers 200.

    git44-healthcheck [URL]

URL defaults to $GIT44_HEALTHCHECK_URL, else http://127.0.0.1:$PORT/readyz where PORT is
the first of AUTH_PORT, JOBS_PORT, KEYS_PORT, WORKER_PORT, SIM_PORT that is set (8000 if
none). Standard library only: it runs in the slim image with nothing else.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

PORT_VARIABLES = ("AUTH_PORT", "JOBS_PORT", "KEYS_PORT", "WORKER_PORT", "SIM_PORT")


def health_url(argv: list[str], env: dict[str, str]) -> str:
    if len(argv) > 1:
        return argv[1]
    if url := env.get("GIT44_HEALTHCHECK_URL"):
        return url
    port = next((env[name] for name in PORT_VARIABLES if env.get(name)), "8000")
    return f"http://127.0.0.1:{port}/readyz"


def check(url: str, timeout: float = 4.0) -> int:
    # no proxy: the check is always for this container itself
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        sys.stderr.write(f"unhealthy: {url}: {exc}\n")
        return 1
    if status != 200:
        sys.stderr.write(f"unhealthy: {url} answered {status}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(check(health_url(sys.argv, dict(os.environ))))
