"""`make bench`: run every tests/bench/bench_*.py, print figures, write bench-results/*.json.

Benchmarks compare ratios measured in the same run; they are not pass/fail tests.
Run one: `.venv/bin/python -m tests.bench publish`.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench-results"


def discover(selected: list[str]) -> list[str]:
    names = sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))
    return [n for n in names if not selected or n in selected]


def main(argv: list[str]) -> int:
    sys.path[:0] = [str(ROOT), str(ROOT / "deploy" / "local")]
    RESULTS.mkdir(exist_ok=True)
    for name in discover(argv):
        module = importlib.import_module(f"tests.bench.bench_{name}")
        title = (module.__doc__ or name).strip().splitlines()[0]
        print(f"\n== {name}: {title}", flush=True)
        started = time.time()
        figures = asyncio.run(module.run())
        report = {
            "benchmark": name,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(time.time() - started, 1),
            "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
            "figures": figures,
        }
        (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(figures, indent=2))
        print(f"-> {RESULTS.relative_to(ROOT)}/{name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
