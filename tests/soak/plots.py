"""The soak report's plots: RSS, open files and event-loop lag per slot, queue depths —
over minutes since start, the faults drawn behind the lines.

Drawn on `matplotlib.figure.Figure` without pyplot, so no GUI backend is ever chosen
and no global figure registry has to be closed (matplotlib's advice for servers).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Mapping
from itertools import cycle
from operator import itemgetter
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image

MIB = 2**20
# Lines in strong colours, faults in soft ones, so the two never read as each other.
SLOT_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
FAULT_COLOURS = [  # ColorBrewer Set3 without its palest two: one per fault kind
    "#8dd3c7", "#bebada", "#fb8072", "#80b1d3", "#fdb462",
    "#b3de69", "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f",
]  # fmt: skip
RESTART_MARKER: dict[str, Any] = {
    "marker": "^",
    "markersize": 7,
    "markeredgecolor": "black",
    "linestyle": "none",
}

Sample = Mapping[str, Any]
Segments = list[list[tuple[float, float]]]


def draw_plots(result: Mapping[str, Any], out_dir: Path) -> None:
    """rss.png, fds.png, loop_lag.png and queues.png in `out_dir`."""
    samples, queues = result["samples"], result["queues"]
    plots: dict[str, tuple[str, dict[str, Segments]]] = {
        "rss.png": ("RSS (MiB)", _slot_series(samples, lambda s: s["rss_bytes"] / MIB)),
        "fds.png": ("open file descriptors", _slot_series(samples, lambda s: s["fds"])),
        "loop_lag.png": ("event-loop lag (ms)", _slot_series(samples, _loop_lag_ms)),
        "queues.png": ("messages in queue", _queue_series(queues)),
    }
    for name, (ylabel, series) in plots.items():
        _plot(out_dir / name, result, ylabel=ylabel, series=series)


def _instance(sample: Sample) -> tuple[int, float]:
    return sample["pid"], sample["started_t"]


def _loop_lag_ms(sample: Sample) -> float:
    lag = sample["loop_lag_seconds"]
    return math.nan if lag is None else lag * 1000


def _slot_series(
    samples: Iterable[Sample], value: Callable[[Sample], float]
) -> dict[str, Segments]:
    """One segment per process instance, so a restart breaks the line."""
    series: dict[str, Segments] = {}
    current: dict[str, tuple[int, float]] = {}
    for sample in sorted(samples, key=itemgetter("t")):
        segments = series.setdefault(sample["slot"], [])
        if current.get(sample["slot"]) != _instance(sample):
            current[sample["slot"]] = _instance(sample)
            segments.append([])
        segments[-1].append((sample["t"] / 60, float(value(sample))))
    return dict(sorted(series.items()))


def _queue_series(queues: Iterable[Sample]) -> dict[str, Segments]:
    series: dict[str, Segments] = {}
    for row in sorted(queues, key=itemgetter("t")):
        series.setdefault(row["queue"], [[]])[0].append((row["t"] / 60, float(row["messages"])))
    return dict(sorted(series.items()))


def _plot(
    path: Path, result: Mapping[str, Any], *, ylabel: str, series: dict[str, Segments]
) -> None:
    """Lines over minutes since start, faults behind them, baseline and settled dashed."""
    fig = Figure(figsize=(10, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    fault_handles = _draw_faults(ax, result["faults"])
    phases = result["phases"]
    phase_style: dict[str, Any] = {"linewidth": 1, "linestyle": "--"}
    handles = [
        ax.axvline(phases["baseline_t"] / 60, color="black", label="baseline", **phase_style),
        ax.axvline(phases["settled_t"] / 60, color="dimgray", label="settled", **phase_style),
        *_draw_series(ax, series),
    ]
    ax.set(xlabel="minutes since start", ylabel=ylabel, xlim=(0, phases["end_t"] / 60))
    ax.set_ylim(0, ax.get_ylim()[1] * 1.08)  # headroom: a flat line is not hidden in the frame
    ax.set_title(f"{ylabel} — seed {result['seed']}, commit {result['commit']}", fontsize=10)
    ax.grid(alpha=0.3)
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    if fault_handles:
        fig.legend(handles=fault_handles, loc="outside right lower", fontsize=8, title="faults")
    _save_small_png(fig, path)


def _save_small_png(fig: Figure, path: Path) -> None:
    """Save with a 256-colour palette: it looks the same and is half the size of matplotlib's
    RGBA, which matters for noisy hour-long lines in PNGs committed into the docs."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
        palette.save(path, format="png", optimize=True)


def _draw_series(ax: Axes, series: dict[str, Segments]) -> list[Line2D]:
    """A line per segment in its series' colour; a triangle where a new process begins."""
    handles: list[Line2D] = []
    for colour, (label, segments) in zip(cycle(SLOT_COLOURS), series.items(), strict=False):
        for i, segment in enumerate(segments):
            xs, ys = zip(*segment, strict=True)
            (line,) = ax.plot(xs, ys, color=colour, linewidth=1.2, label=label)
            if i == 0:
                handles.append(line)
            elif start := next(((x, y) for x, y in segment if not math.isnan(y)), None):
                ax.plot(*start, color=colour, **RESTART_MARKER)
    if any(len(segments) > 1 for segments in series.values()):
        handles.append(Line2D([], [], color="gray", label="restart", **RESTART_MARKER))
    return handles


def _draw_faults(ax: Axes, faults: Iterable[Sample]) -> list[Patch]:
    """A span per timed fault, a thin line per instant one (a kill); one legend entry per kind."""
    faults = list(faults)
    kinds = sorted({fault["kind"] for fault in faults})
    colour = dict(zip(kinds, cycle(FAULT_COLOURS), strict=False))
    for fault in faults:
        start, seconds = fault["t"] / 60, fault["seconds"]
        if seconds > 0:
            ax.axvspan(
                start, start + seconds / 60, color=colour[fault["kind"]], alpha=0.35, linewidth=0
            )
        else:
            ax.axvline(start, color=colour[fault["kind"]], linewidth=1.2)
    return [Patch(color=colour[kind], label=kind) for kind in kinds]
