"""`python -m git44_sim`: run the simulator with uvicorn."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import uvicorn

from git44_sim.app import SERVER_KEEP_ALIVE_S, create_app
from git44_sim.cli import parse_options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv, os.environ)
    app = create_app(options.build_state(), smtp_port=options.smtp_port, smtp_host=options.host)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        log_level=options.log_level,
        access_log=options.access_log,
        # Longer than any client's idle-connection expiry (httpx: 5 s), so clients
        # never send on a connection the server has just closed.
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
        # Keep-alive connections from clients must not hold up a SIGTERM for long.
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
