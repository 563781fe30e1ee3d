"""`make soak`: the whole backend under a steady mixed load for SOAK_MINUTES while random
faults hit it, then the audit and the resource curves (bench-results/soak/).

    SOAK_MINUTES=60     how long faults are injected (the load runs as long)
    SOAK_SEED=<int>     the fault schedule's seed (printed; default: drawn)
    SOAK_SETTLE_SECONDS=900  the most to wait, after the last fault, for every job to
                        end and every webhook to arrive
    SOAK_OUT=bench-results/soak

Exits 1 when an audit figure that must be zero is not, or a service's RSS or open
files grew (tests/soak/report.py says by how much).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SETTLED_TAIL_SECONDS = 60.0  # samples of the settled system, for the curves' end
FIRST_FAULT_SECONDS = 45.0


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


async def soak(minutes: float, seed: int, settle: float, base: Path) -> dict[str, Any]:
    import httpx

    from git44_sim.client import SimControl
    from tests.chaos.harness import database
    from tests.soak.audit import audit
    from tests.soak.faults import Injector, draw_schedule
    from tests.soak.load import Actors, Ledger, Links
    from tests.soak.receivers import Receivers
    from tests.soak.sampler import Sampler
    from tests.soak.stack import SoakStack

    # `kill <pid>` (or CI's timeout) stops the soak like Ctrl-C: the stack's processes too
    this = asyncio.current_task()
    assert this is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, this.cancel)
    rng = random.Random(seed)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    window = minutes * 60
    schedule = draw_schedule(seed, start=FIRST_FAULT_SECONDS, end=window)
    stack = SoakStack(base)
    await asyncio.to_thread(stack.start)
    stack.clock_zero = time.monotonic()
    try:
        receivers = Receivers()
        server = await receivers.serve()
        ledger = Ledger()
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            actors = Actors(
                stack.url("jobs-api"), stack.url("auth"), ledger, Links(rng), receivers, rng
            )
            await actors.prepare(http)
            sampler, sampling = Sampler(stack), asyncio.Event()
            sampler_task = asyncio.create_task(sampler.run(sampling))
            load = asyncio.create_task(actors.run(http))
            injector = Injector(stack, receivers, random.Random(seed + 1))
            await injector.run(schedule)
            await asyncio.sleep(max(0.0, window - stack.t()))
            faults_end = stack.t()
            actors.stop.set()
            await load
            print(f"[{stack.t():7.1f}s] faults and load stopped; settling", flush=True)
            async with database(stack.local) as db, SimControl(stack.url("sim")) as sim:
                deadline = time.monotonic() + settle
                while True:
                    result = await audit(db, actors, ledger, await sim.tasks())
                    pending = (
                        result["audit"]["lost"] + result["audit"]["webhook_deliveries_missing"]
                    )
                    if pending == 0 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(10)
                settled = stack.t()
                print(f"[{settled:7.1f}s] settled ({pending} pending); tail samples", flush=True)
                await asyncio.sleep(SETTLED_TAIL_SECONDS)
                result = await audit(db, actors, ledger, await sim.tasks())
            sampling.set()
            await sampler_task
        server.should_exit = True
    finally:
        await asyncio.to_thread(stack.stop)
    faults = [fault.record() for fault in sorted(injector.done, key=lambda f: f.t)]
    result["info"].update({
        "faults injected": len(faults),
        "process restarts": sum(stack.restarts.values()),
        "settle seconds": round(settled - faults_end, 1),
    })  # fmt: skip
    return {
        "seed": seed,
        "minutes": minutes,
        "commit": commit(),
        "started_at": started_at,
        "phases": {
            "baseline_t": min(600.0, window / 3),
            "faults_end_t": round(faults_end, 1),
            "settled_t": round(settled, 1),
            "end_t": round(stack.t(), 1),
        },
        "faults": faults,
        "samples": sampler.samples,
        "queues": sampler.queues,
        **result,
        "load": dict(sorted(ledger.counts.items())),
    }


def main() -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "local")]
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    for noisy in ("aio_pika", "aiormq"):  # the sampler's connects while the broker is down
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    minutes = float(os.environ.get("SOAK_MINUTES", "60"))
    seed = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1, 1_000_000))
    settle = float(os.environ.get("SOAK_SETTLE_SECONDS", "900"))
    out = Path(os.environ.get("SOAK_OUT", ROOT / "bench-results" / "soak"))
    replay = f"SOAK_SEED={seed} SOAK_MINUTES={minutes:g} make soak"
    print(f"soak: {minutes:g} min, seed {seed} (replay: {replay})", flush=True)
    base = Path(tempfile.mkdtemp(prefix="git44-soak-"))
    try:
        result = asyncio.run(soak(minutes, seed, settle, base))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print(f"soak stopped; its processes are stopped, their logs in {base}", flush=True)
        return 130

    from tests.soak.report import evaluate_growth, passed, write_report

    out.mkdir(parents=True, exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    growth = evaluate_growth(result["samples"], baseline_t=result["phases"]["baseline_t"])
    report = write_report(result, out)
    failures = passed(result, growth)
    print(report.read_text())
    if failures:
        logs = out / "logs"
        shutil.rmtree(logs, ignore_errors=True)
        shutil.copytree(base / "stack", logs, ignore=shutil.ignore_patterns("mongo"))
        print("SOAK FAILED:\n- " + "\n- ".join(failures) + f"\nservice logs: {logs}")
        return 1
    shutil.rmtree(base, ignore_errors=True)
    print(f"soak passed: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
