"""Runtime knobs of the simulator (changed live through the control plane)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass
class SimConfig:
    """Latencies, failure injection and the RemoveSora processing-time distribution."""

    proxy_latency_ms: float = 0.0
    proxy_failure_rate: float = 0.0
    fail_next_requests: int = 0
    processing_min_s: float = 3.0
    processing_max_s: float = 8.0
    task_failure_rate: float = 0.0
    removesora_latency_ms: float = 0.0
    # ScraperAPI retries for up to 70 s before it gives up with a 500.
    forward_timeout_s: float = 70.0
    # how long a download link works (a signed URL with `expires`, as object stores do)
    download_link_ttl_s: float = 3600.0
    # the second provider (kie.py): latency, injected 500s, callbacks sent or withheld
    kie_latency_ms: float = 0.0
    kie_failure_rate: float = 0.0
    kie_callbacks: bool = True

    def copy(self) -> SimConfig:
        """An independent copy (reset restores the start-up config from one)."""
        return replace(self)

    def update(self, **changes: float | int | bool) -> None:
        """Set the given fields; names are this dataclass's field names."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self, name, value)


def parse_processing_seconds(text: str) -> tuple[float, float]:
    """`"3-8"` -> (3.0, 8.0) (uniform range); `"5"` or `"0.2"` -> fixed."""
    low, sep, high = text.strip().partition("-")
    try:
        minimum = float(low)
        maximum = float(high) if sep else minimum
    except ValueError:
        raise ValueError(f"processing seconds must look like '5' or '3-8', got {text!r}") from None
    if minimum < 0 or maximum < minimum:
        raise ValueError(f"processing seconds need 0 <= min <= max, got {text!r}")
    return minimum, maximum
