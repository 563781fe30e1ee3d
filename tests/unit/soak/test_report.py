"""The soak's verdict and report: growth judged on each slot's final process, every
non-zero audit value named, and a report.md with four small, valid PNG plots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.soak.report import (
    FD_GROWTH_LIMIT,
    MIB,
    Growth,
    evaluate_growth,
    passed,
    write_report,
)

AUDIT = {
    "lost": 0,
    "double_charged": 0,
    "credits_lost": 0,
    "failed_by_fault": 0,
    "second_tasks": 0,
    "webhook_deliveries_missing": 0,
    "sse_went_back": 0,
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
END_T = 3700.0


def flat(value: float) -> Callable[[float], float]:
    return lambda t: value


def step(before: float, after: float, *, at: float = 1800.0) -> Callable[[float], float]:
    return lambda t: before if t < at else after


STEADY_RSS_MIB, STEADY_FDS = flat(80.0), flat(30)


def process(
    slot: str,
    pid: int,
    *,
    started_t: float = 0.0,
    until: float = END_T,
    rss_mib: Callable[[float], float] = STEADY_RSS_MIB,
    fds: Callable[[float], float] = STEADY_FDS,
) -> list[dict[str, Any]]:
    """A process sampled every 10 s from 5 s after its start, as the soak's sampler does."""
    times = [started_t + 5 + 10 * i for i in range(int((until - started_t - 5) // 10) + 1)]
    return [
        {
            "t": t,
            "slot": slot,
            "service": slot.split("-")[0],
            "pid": pid,
            "started_t": started_t,
            "rss_bytes": int(rss_mib(t) * MIB),
            "fds": int(fds(t)),
            "loop_lag_seconds": None if i % 7 == 3 else 0.002 + (i % 5) / 1000,
        }
        for i, t in enumerate(times)
    ]


def judged(samples: list[dict[str, Any]]) -> Growth:
    (growth,) = evaluate_growth(samples, baseline_t=600.0)
    return growth


def test_rss_growing_25_percent_is_flagged_and_10_percent_is_not() -> None:
    grew = judged(process("worker-1", 10, rss_mib=step(80, 100)))
    assert grew.flagged
    assert grew.rss_growth == pytest.approx(0.25)
    assert "RSS +25%" in grew.reason
    assert not judged(process("worker-1", 10, rss_mib=step(80, 88))).flagged


def test_51_more_fds_are_flagged_and_50_are_not() -> None:
    grew = judged(process("jobs-api", 10, fds=step(30, 30 + FD_GROWTH_LIMIT + 1)))
    assert grew.flagged
    assert grew.fds_growth == 51
    assert "fds +51" in grew.reason
    assert not judged(process("jobs-api", 10, fds=step(30, 30 + FD_GROWTH_LIMIT))).flagged


def test_the_baseline_is_the_first_sample_past_minute_10() -> None:
    growth = judged(process("auth", 10))
    assert growth.baseline_t == 605.0
    assert growth.rss_baseline == 80 * MIB


def test_one_spike_at_the_end_does_not_decide() -> None:
    samples = process("key-manager", 10)
    samples[-1]["rss_bytes"] = 500 * MIB
    samples[-1]["fds"] = 400
    assert not judged(samples).flagged


def test_a_restarted_slot_is_judged_on_its_final_process_only() -> None:
    leaky = process("worker-1", 10, until=1200.0, rss_mib=step(80, 400, at=900.0))
    fresh = process("worker-1", 20, started_t=1210.0, rss_mib=flat(90))
    growth = judged(leaky + fresh)
    assert growth.pid == 20
    assert not growth.flagged
    assert growth.rss_baseline == 90 * MIB
    # its own warm-up is skipped, not just the run's first ten minutes
    assert growth.baseline_t is not None
    assert growth.baseline_t >= 1210.0 + 120


def test_a_process_too_young_to_judge_is_not_judged() -> None:
    old = process("auth", 10, until=3600.0)
    young = process("auth", 20, started_t=3620.0, rss_mib=step(80, 200, at=3650.0))
    growth = judged(old + young)
    assert growth.pid == 20
    assert not growth.flagged
    assert growth.rss_growth is None
    assert growth.reason == "not judged: instance started at t=3620 s"


def test_each_slot_is_judged_on_its_own() -> None:
    samples = process("worker-2", 2, rss_mib=step(80, 120)) + process("auth", 1)
    assert [(g.slot, g.flagged) for g in evaluate_growth(samples, baseline_t=600.0)] == [
        ("auth", False),
        ("worker-2", True),
    ]


def test_passed_names_every_non_zero_audit_value_and_every_flagged_slot() -> None:
    result = {"audit": {**AUDIT, "lost": 1, "sse_went_back": 3}}
    growth = evaluate_growth(process("worker-2", 2, rss_mib=step(80, 120)), baseline_t=600.0)
    failures = passed(result, growth)
    assert len(failures) == 3
    assert any("lost = 1" in failure for failure in failures)
    assert any("sse_went_back = 3" in failure for failure in failures)
    assert any("worker-2" in failure for failure in failures)
    assert passed({"audit": AUDIT}, evaluate_growth(process("auth", 1), baseline_t=600.0)) == []


def soak_result(audit: dict[str, int]) -> dict[str, Any]:
    """An hour with a killed and restarted worker, an outage or two and two queues."""
    samples = [
        *process("auth", 11, rss_mib=flat(70)),
        *process("jobs-api", 12, rss_mib=step(95, 101)),
        *process("key-manager", 13, fds=step(25, 27)),
        *process("worker-1", 14, until=1200.0, rss_mib=step(80, 150, at=900.0)),
        *process("worker-1", 24, started_t=1210.0, rss_mib=flat(85)),
        *process("worker-2", 15, rss_mib=step(82, 86)),
    ]
    queues = [
        {"t": t, "queue": queue, "messages": (int(t) // 10) % (13 if n else 7)}
        for t in range(15, int(END_T), 10)
        for n, queue in enumerate(("git44.removal", "git44.webhooks"))
    ]
    faults = [
        {"t": 1200.0, "kind": "kill", "target": "worker-1", "seconds": 0.0, "detail": "kill -9"},
        {"t": 1500.0, "kind": "broker_restart", "target": "rabbitmq", "seconds": 20.0},
        {"t": 2100.0, "kind": "upstream_slow", "target": "sim", "seconds": 120.0},
        {"t": 2700.0, "kind": "fault_point", "target": "jobs-api", "seconds": 0.0},
        {"t": 3000.0, "kind": "webhook_dark", "target": "receiver", "seconds": 90.0},
    ]
    for fault in faults:
        fault.setdefault("detail", f"{fault['kind']} | on {fault['target']}")
    return {
        "seed": 1234,
        "minutes": 60.0,
        "commit": "abc1234",
        "started_at": "2026-12-01T12:00:00+00:00",
        "phases": {
            "baseline_t": 600.0,
            "faults_end_t": 3600.0,
            "settled_t": 3670.0,
            "end_t": END_T,
        },
        "faults": faults,
        "samples": samples,
        "queues": queues,
        "audit": audit,
        "info": {"accepted": 1800, "completed": 1760, "p99_seconds": 12.345678, "mode": "mixed"},
        "load": {"spa_submissions": 900, "api_key_submissions": 700},
    }


def test_the_report_has_the_replay_command_the_audit_and_four_small_pngs(tmp_path: Path) -> None:
    report = write_report(soak_result(AUDIT), tmp_path / "soak")

    text = report.read_text(encoding="utf-8")
    assert report == tmp_path / "soak" / "report.md"
    assert "seed 1234" in text
    assert "SOAK_SEED=1234 SOAK_MINUTES=60 make soak" in text
    assert "**Passed.**" in text
    for check in AUDIT:
        assert f"| {check} | 0 | 0 | ✓ |" in text
    assert "| worker-1 | 24 |" in text
    assert "<details>" in text
    assert "broker_restart \\| on rabbitmq" in text  # a detail's own `|` is not a new column
    for name in ("rss", "fds", "loop_lag", "queues"):
        assert f"]({name}.png)" in text
        png = (tmp_path / "soak" / f"{name}.png").read_bytes()
        assert png.startswith(PNG_SIGNATURE)
        assert png[12:16] == b"IHDR"
        assert (int.from_bytes(png[16:20]), int.from_bytes(png[20:24])) == (1000, 450)
        assert 10_000 < len(png) < 150_000


def test_a_failed_audit_shows_in_the_report(tmp_path: Path) -> None:
    text = write_report(soak_result({**AUDIT, "double_charged": 2}), tmp_path).read_text()
    assert "**Failed:**" in text
    assert "| double_charged | 2 | 0 | ✗ |" in text
