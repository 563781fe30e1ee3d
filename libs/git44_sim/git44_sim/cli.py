"""Command line of `python -m git44_sim`; every flag defaults to its `SIM_*` variable."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from git44_sim.config import SimConfig, parse_processing_seconds
from git44_sim.state import SimState


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    smtp_port: int | None  # None: no SMTP sink
    keys: list[str]
    kie_keys: list[str]
    credits: int
    concurrency: int
    seed: int | None
    log_level: str
    access_log: bool
    config: SimConfig

    def build_state(self) -> SimState:
        return SimState(
            keys=self.keys,
            kie_keys=self.kie_keys,
            request_limit=self.credits,
            concurrency_limit=self.concurrency,
            config=self.config,
            seed=self.seed,
        )


def rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate must be within 0..1, got {text}")
    return value


def smtp_port(text: str) -> int | None:
    """A port, or None for "0" / "off" (no SMTP sink)."""
    if text.strip().lower() in {"0", "off", ""}:
        return None
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port or 'off', got {text!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"a port must be within 1..65535, got {port}")
    return port


def processing_range(text: str) -> tuple[float, float]:
    try:
        return parse_processing_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    """The parser; `env` (normally os.environ) supplies the defaults as `SIM_<FLAG>`."""
    parser = argparse.ArgumentParser(
        prog="python -m git44_sim",
        description="ScraperAPI + RemoveSora simulator. Every flag defaults to the "
        "environment variable SIM_<FLAG> (e.g. SIM_PORT, SIM_PROCESSING_SECONDS).",
    )
    add = parser.add_argument

    def default(flag: str, fallback: str | None) -> str | None:
        return env.get("SIM_" + flag.upper().replace("-", "_"), fallback)

    add("--host", default=default("host", "127.0.0.1"), help="interface to listen on")
    add("--port", type=int, default=default("port", "8090"), help="port to listen on")
    add(
        "--smtp-port",
        type=smtp_port,
        default=default("smtp-port", "1025"),
        help="SMTP sink port on --host (mail listed at /_control/mail); 0 or off: none",
    )
    add("--keys", default=default("keys", ""), help="comma-separated keys to create at start")
    add(
        "--kie-keys",
        default=default("kie-keys", "kie-demo-key-1,kie-demo-key-2"),
        help="comma-separated API keys of the second provider (/kie)",
    )
    add("--credits", type=int, default=default("credits", "1000"), help="requestLimit per key")
    add(
        "--concurrency",
        type=int,
        default=default("concurrency", "5"),
        help="concurrencyLimit per key",
    )
    add(
        "--processing-seconds",
        type=processing_range,
        default=default("processing-seconds", "3-8"),
        help="RemoveSora processing time: fixed '5' or uniform range '3-8'",
    )
    add(
        "--failure-rate",
        type=rate,
        default=default("failure-rate", "0"),
        help="probability that a RemoveSora task fails",
    )
    add("--seed", type=int, default=default("seed", None), help="RNG seed (reproducible runs)")
    add(
        "--proxy-latency-ms",
        type=float,
        default=default("proxy-latency-ms", "0"),
        help="latency added to each proxied request",
    )
    add(
        "--proxy-failure-rate",
        type=rate,
        default=default("proxy-failure-rate", "0"),
        help="probability of an injected proxy 500",
    )
    add(
        "--removesora-latency-ms",
        type=float,
        default=default("removesora-latency-ms", "0"),
        help="latency added to each RemoveSora API call",
    )
    add(
        "--forward-timeout",
        type=float,
        default=default("forward-timeout", "70"),
        help="seconds the proxy waits for the target",
    )
    add(
        "--download-link-ttl",
        type=float,
        default=default("download-link-ttl", "3600"),
        help="seconds a RemoveSora download link works (signed, with `expires`)",
    )
    add("--log-level", default=default("log-level", "info"), help="uvicorn log level")
    add(
        "--access-log",
        action="store_true",
        default=default("access-log", "") in {"1", "true", "yes"},
        help="log every request",
    )
    return parser


def parse_options(argv: Sequence[str] | None, env: Mapping[str, str]) -> Options:
    args = build_parser(env).parse_args(argv)
    # argparse applies `type` to string defaults too, so env values are converted here.
    minimum, maximum = args.processing_seconds
    config = SimConfig(
        proxy_latency_ms=args.proxy_latency_ms,
        proxy_failure_rate=args.proxy_failure_rate,
        processing_min_s=minimum,
        processing_max_s=maximum,
        task_failure_rate=args.failure_rate,
        removesora_latency_ms=args.removesora_latency_ms,
        forward_timeout_s=args.forward_timeout,
        download_link_ttl_s=args.download_link_ttl,
    )
    return Options(
        host=args.host,
        port=args.port,
        smtp_port=args.smtp_port,
        keys=[key.strip() for key in args.keys.split(",") if key.strip()],
        kie_keys=[key.strip() for key in args.kie_keys.split(",") if key.strip()],
        credits=args.credits,
        concurrency=args.concurrency,
        seed=args.seed,
        log_level=args.log_level,
        access_log=args.access_log,
        config=config,
    )
