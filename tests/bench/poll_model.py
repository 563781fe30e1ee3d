"""A model of the worker's polling, to see how often a run of N jobs meets both of the
frontier policy's targets (at most 2.2 upstream calls per job, ready→success p50 at most
0.8 s) — the spread a handful of real pipeline runs cannot show.

Tasks ready uniformly in 2–4 s, `concurrency` jobs at a time (a finished job's slot
takes the next one), each job a create then polls as `poll_policy` schedules them, the
policy learning as the worker's does (a success is observed when it happens, so the
jobs already started poll on what was known when they were scheduled):

    .venv/bin/python -m tests.bench.poll_model --quantile 0.85 --jobs 180 --learnt
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
from dataclasses import dataclass

from git44_worker.domain.poll_policy import PollPolicy, build_poll_policy

# what a poll's round trip and the success write add to the wait, seconds
OVERHEAD = 0.05


@dataclass
class Job:
    started: float
    ready: float
    polls: int = 0
    last_processing: float = 0.0


def run(
    policy: PollPolicy, *, jobs: int, concurrency: int, rng: random.Random
) -> tuple[float, float]:
    """(upstream calls per job, median ready→success seconds) of one run."""
    ready_times = [rng.uniform(2.0, 4.0) for _ in range(jobs)]
    due: list[tuple[float, int]] = []
    running: dict[int, Job] = {}
    calls, waits = [], []
    started = 0

    def start(at: float) -> None:
        nonlocal started
        running[started] = Job(started=at, ready=ready_times[started])
        heapq.heappush(due, (at + policy.next_delay(poll_number=1, elapsed=0.0), started))
        started += 1

    for _ in range(min(concurrency, jobs)):
        start(0.0)
    while due:
        now, n = heapq.heappop(due)
        job = running[n]
        job.polls += 1
        elapsed = now - job.started
        if elapsed >= job.ready:
            policy.observe(last_processing_at=job.last_processing, success_at=elapsed)
            calls.append(1 + job.polls)
            waits.append(elapsed - job.ready + OVERHEAD)
            del running[n]
            if started < jobs:
                start(now + OVERHEAD)
            continue
        job.last_processing = elapsed
        delay = policy.next_delay(poll_number=job.polls + 1, elapsed=elapsed)
        heapq.heappush(due, (now + delay, n))
    return statistics.fmean(calls), statistics.median(waits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quantile", type=float, default=0.85)
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--learnt", action="store_true", help="200 jobs first, unmeasured")
    args = parser.parse_args()
    runs = []
    for seed in range(args.seeds):
        rng = random.Random(seed)
        policy = build_poll_policy(
            "frontier",
            min_seconds=3.0,
            max_seconds=5.0,
            min_samples=5,
            first_quantile=args.quantile,
            rng=random.Random(seed + 1000),
        )
        if args.learnt:
            run(policy, jobs=200, concurrency=args.concurrency, rng=rng)
        runs.append(run(policy, jobs=args.jobs, concurrency=args.concurrency, rng=rng))
    met = sum(1 for calls, p50 in runs if calls <= 2.2 and p50 <= 0.8)
    print(
        f"q={args.quantile} jobs={args.jobs} learnt={args.learnt}: calls/job mean"
        f" {statistics.fmean(c for c, _ in runs):.3f} (max {max(c for c, _ in runs):.2f}),"
        f" p50 mean {statistics.fmean(p for _, p in runs):.3f} s"
        f" (max {max(p for _, p in runs):.3f}); both targets met in {met}/{len(runs)} runs"
    )


if __name__ == "__main__":
    main()
