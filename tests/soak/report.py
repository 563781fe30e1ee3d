"""The soak's verdict and its report: growth per slot, the audit, and `report.md` with plots.

The input is the soak's result dict (`bench-results/soak/soak.json`). Growth is judged on
each slot's final process only: a process the scheduler killed took its memory with it,
and its replacement is measured from its own baseline.

The plots are `plots.py`'s.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from tests.soak.plots import MIB, draw_plots

RSS_GROWTH_LIMIT = 0.20
FD_GROWTH_LIMIT = 50
# A fresh process fills its caches, pools and imports for a while; that is not a leak.
WARMUP_SECONDS = 120.0
# The median of this many samples decides a point, so one spike does not.
MEDIAN_OF = 3
Sample = Mapping[str, Any]


@dataclass(frozen=True)
class Growth:
    """One slot's final process, from its baseline to the end; `None`s when not judged."""

    slot: str
    pid: int
    baseline_t: float | None
    rss_baseline: float | None
    rss_end: float
    rss_growth: float | None
    fds_baseline: float | None
    fds_end: float
    fds_growth: float | None
    flagged: bool
    reason: str


def evaluate_growth(samples: Iterable[Sample], *, baseline_t: float) -> list[Growth]:
    """Judge every slot's final process instance, sorted by slot."""
    by_slot: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=itemgetter("t")):
        by_slot[sample["slot"]].append(sample)
    return [_judge(slot, rows, baseline_t) for slot, rows in sorted(by_slot.items())]


def _instance(sample: Sample) -> tuple[int, float]:
    # pid and start time together: a pid may be reused within an hour
    return sample["pid"], sample["started_t"]


def _median(rows: Sequence[Sample], key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def _judge(slot: str, rows: Sequence[Sample], baseline_t: float) -> Growth:
    """The slot's last process, from its first sample past the baseline and its warm-up."""
    last = rows[-1]
    instance = [row for row in rows if _instance(row) == _instance(last)]
    judge_from = max(baseline_t, last["started_t"] + WARMUP_SECONDS)
    first = next((i for i, row in enumerate(instance[:-1]) if row["t"] >= judge_from), None)
    if first is None:
        return Growth(
            slot=slot,
            pid=last["pid"],
            baseline_t=None,
            rss_baseline=None,
            rss_end=_median(instance[-MEDIAN_OF:], "rss_bytes"),
            rss_growth=None,
            fds_baseline=None,
            fds_end=_median(instance[-MEDIAN_OF:], "fds"),
            fds_growth=None,
            flagged=False,
            reason=f"not judged: instance started at t={last['started_t']:.0f} s",
        )
    # the end window never reaches back before the baseline sample
    end = instance[max(first, len(instance) - MEDIAN_OF) :]
    return _compare(slot, base=instance[first : first + MEDIAN_OF], end=end)


def _compare(slot: str, *, base: Sequence[Sample], end: Sequence[Sample]) -> Growth:
    rss_base, rss_end = _median(base, "rss_bytes"), _median(end, "rss_bytes")
    fds_base, fds_end = _median(base, "fds"), _median(end, "fds")
    rss_grew = rss_end > (1 + RSS_GROWTH_LIMIT) * rss_base
    fds_grew = fds_end - fds_base > FD_GROWTH_LIMIT
    reasons = []
    if rss_grew:
        reasons.append(
            f"RSS {rss_end / rss_base - 1:+.0%} ({rss_base / MIB:.1f} → {rss_end / MIB:.1f} MiB)"
        )
    if fds_grew:
        reasons.append(f"fds {fds_end - fds_base:+.0f} ({fds_base:.0f} → {fds_end:.0f})")
    return Growth(
        slot=slot,
        pid=end[-1]["pid"],
        baseline_t=base[0]["t"],
        rss_baseline=rss_base,
        rss_end=rss_end,
        rss_growth=rss_end / rss_base - 1,
        fds_baseline=fds_base,
        fds_end=fds_end,
        fds_growth=fds_end - fds_base,
        flagged=rss_grew or fds_grew,
        reason="; ".join(reasons) or "within limits",
    )


def passed(result: Mapping[str, Any], growth: Iterable[Growth]) -> list[str]:
    """Why the soak failed — each non-zero audit value, each flagged slot; empty if it passed."""
    audit: Mapping[str, Any] = result["audit"]
    failures = [] if audit else ["the audit is empty"]
    failures += [
        f"audit {check} = {value}, must be 0" for check, value in audit.items() if value != 0
    ]
    failures += [f"{g.slot} (pid {g.pid}) grew: {g.reason}" for g in growth if g.flagged]
    return failures


def write_report(result: Mapping[str, Any], out_dir: Path) -> Path:
    """Write `report.md` and its four plots into `out_dir`; return the report's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    growth = evaluate_growth(result["samples"], baseline_t=result["phases"]["baseline_t"])
    draw_plots(result, out_dir)
    report = out_dir / "report.md"
    report.write_text(_markdown(result, growth), encoding="utf-8")
    return report


def replay_command(result: Mapping[str, Any]) -> str:
    """The command that runs this soak again: same seed, same length."""
    return f"SOAK_SEED={result['seed']} SOAK_MINUTES={result['minutes']:g} make soak"


def _markdown(result: Mapping[str, Any], growth: Sequence[Growth]) -> str:
    seed, minutes, phases = result["seed"], result["minutes"], result["phases"]
    failures = passed(result, growth)
    verdict = (
        ["**Passed.**"] if not failures else ["**Failed:**", ""] + [f"- {f}" for f in failures]
    )
    lines = [
        f"# Soak: seed {seed}, {minutes:g} min, commit {result['commit']}",
        "",
        f"Started {result['started_at']}. Replay: `{replay_command(result)}`",
        "",
        f"Baseline at minute {phases['baseline_t'] / 60:.1f}, faults until minute "
        f"{phases['faults_end_t'] / 60:.1f}, settled at {phases['settled_t'] / 60:.1f}, "
        f"end at {phases['end_t'] / 60:.1f}.",
        "",
        *verdict,
        "",
        "## Audit",
        "",
        *_table(["check", "value", "must be", "ok"], _audit_rows(result["audit"])),
        "",
        "## Growth",
        "",
        f"Each slot's final process, from its baseline (minute {phases['baseline_t'] / 60:.1f}, "
        f"or {WARMUP_SECONDS:g} s after it started, if later) to the end, each point the median "
        f"of {MEDIAN_OF} samples; flagged above {RSS_GROWTH_LIMIT:.0%} RSS or "
        f"{FD_GROWTH_LIMIT} more fds.",
        "",
        *_table(
            ["slot", "pid", "RSS MiB", "RSS Δ", "fds", "fds Δ", "flagged"],
            [_growth_row(g) for g in growth],
        ),
        "",
        "## Plots",
        "",
        *(f"![{name}]({name}.png)\n" for name in ("rss", "fds", "loop_lag", "queues")),
        "## Faults",
        "",
        *_faults(result["faults"]),
        "",
        "## Load",
        "",
        *_table(["counter", "value"], [[k, _fmt(v)] for k, v in result["load"].items()]),
        "",
        "## Info",
        "",
        *_table(["item", "value"], [[k, _fmt(v)] for k, v in result["info"].items()]),
    ]
    return "\n".join(lines) + "\n"


def _audit_rows(audit: Mapping[str, Any]) -> list[list[str]]:
    return [[check, _fmt(value), "0", "✓" if value == 0 else "✗"] for check, value in audit.items()]


def _growth_row(g: Growth) -> list[str]:
    rss_end, fds_end = f"{g.rss_end / MIB:.1f}", f"{g.fds_end:.0f}"
    if g.rss_baseline is None or g.fds_baseline is None:
        return [g.slot, str(g.pid), f"→ {rss_end}", "—", f"→ {fds_end}", "—", g.reason]
    return [
        g.slot,
        str(g.pid),
        f"{g.rss_baseline / MIB:.1f} → {rss_end}",
        f"{g.rss_growth:+.1%}",
        f"{g.fds_baseline:.0f} → {fds_end}",
        f"{g.fds_growth:+.0f}",
        f"**yes**: {g.reason}" if g.flagged else "no",
    ]


def _faults(faults: Sequence[Sample]) -> list[str]:
    count = Counter(fault["kind"] for fault in faults)
    seconds: dict[str, float] = defaultdict(float)
    for fault in faults:
        seconds[fault["kind"]] += fault["seconds"]
    every = [
        [f"{f['t'] / 60:.1f}", f["kind"], f["target"], f"{f['seconds']:g}", f["detail"]]
        for f in sorted(faults, key=itemgetter("t"))
    ]
    return [
        *_table(
            ["kind", "count", "total seconds"],
            [[kind, str(count[kind]), f"{seconds[kind]:g}"] for kind in sorted(count)],
        ),
        "",
        f"<details><summary>All {len(faults)} faults</summary>",
        "",
        *_table(["minute", "kind", "target", "seconds", "detail"], every),
        "",
        "</details>",
    ]


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def row(cells: Sequence[str]) -> str:
        return "| " + " | ".join(_cell(cell) for cell in cells) + " |"

    return [row(header), "|" + "---|" * len(header), *(row(cells) for cells in rows)]


def _cell(text: object) -> str:
    # a `|` or a newline in a fault's detail would break the table
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(value: Any) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
