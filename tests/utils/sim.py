"""The simulator (ScraperAPI + RemoveSora) as a real process for integration tests."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.utils.processes import ManagedProcess, free_port, python_module


@contextmanager
def running_sim(keys: Sequence[str], *args: str, log_dir: Path) -> Iterator[str]:
    """A simulator with `keys` (and `args`), no SMTP sink; its base URL."""
    port = free_port()
    command = python_module(
        "git44_sim", "--port", str(port), "--keys", ",".join(keys), "--smtp-port", "off", *args
    )
    proc = ManagedProcess("sim", command, log_dir=log_dir).start()
    try:
        proc.wait_http_ok(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()
