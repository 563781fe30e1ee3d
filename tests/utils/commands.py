"""A service's command run the way an operator runs it: `python -m <package> <command>`
in its own process, configured by environment variables only."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass

from tests.utils.processes import python_module


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


async def run_module(module: str, *args: str, env: Mapping[str, str]) -> CommandResult:
    process = await asyncio.create_subprocess_exec(
        *python_module(module, *args),
        env={**os.environ, "GIT44_ENV": "test", "LOG_JSON": "false", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:  # timed out: leave nothing running
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return CommandResult(process.returncode, stdout.decode(), stderr.decode())
