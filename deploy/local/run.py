"""`make run`: the whole of Git44 on this machine, stopped with Ctrl-C.

Starts SecantusDB (data in .run/mongo) unless MONGODB_URL is set, the ScraperAPI +
RemoveSora simulator (with its SMTP sink for auth's mail, 127.0.0.1:1025) unless
WORKER_SCRAPERAPI_URL points at the real service, and the four services on their
default ports; RabbitMQ comes from AMQP_URL (checked by ensure-rabbitmq.sh before
this runs).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from gateway import Gateway, nginx_binary, start_gateway
from localstack import DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD, SERVICES, LocalStack

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PREFIXES = tuple(spec.env_prefix for spec in SERVICES)


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _start_gateway(stack: LocalStack, data_dir: Path) -> Gateway | None:
    """The nginx gateway in front of everything, when nginx is installed (one origin for
    the SPA); without it the services are still reachable on their own ports."""
    if nginx_binary() is None:
        print("(nginx is not installed: no gateway; apt-get install nginx-light adds one)")
        return None
    port = int(os.environ.get("GATEWAY_PORT", "8080"))
    return start_gateway(stack.ports, run_dir=data_dir / "gateway", listen_port=port)


def _print_urls(stack: LocalStack, gateway: Gateway | None) -> None:
    print("\nGit44 is running:")
    if gateway is not None:
        print(f"  {'gateway':<12} {gateway.url}   (the SPA's single origin: /api/...)")
    public = gateway.url if gateway is not None else stack.url("jobs-api")
    print(f"  {'public API':<12} {public}/api/docs   (every service: /api/openapi.json)")
    for spec in SERVICES:
        extra = "metrics and health only" if spec.name == "worker" else "its own docs: /docs"
        print(f"  {spec.name:<12} {stack.url(spec.name)}   ({extra})")
    if "sim" in stack.processes:
        print(f"  {'simulator':<12} {stack.url('sim')}   (control plane: /_control/stats)")
        smtp = f"SMTP sink 127.0.0.1:{stack.ports['smtp']}"
        print(f"  {'mail':<12} {stack.url('sim')}/_control/mail   ({smtp}: auth's mail)")
    print(f"  {'mongodb':<12} {stack.mongodb_url}")
    print(f"  {'rabbitmq':<12} {stack.amqp_url}")
    print(f"\n  development admin: {DEV_ADMIN_EMAIL} / {DEV_ADMIN_PASSWORD}")
    print(f"  logs: {stack.data_dir}/<service>.log")
    print("\nCtrl-C stops everything started here.", flush=True)


def main() -> int:
    data_dir = ROOT / ".run"
    data_dir.mkdir(exist_ok=True)
    stack = LocalStack(
        amqp_url=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        mongodb_url=os.environ.get("MONGODB_URL") or None,
        mongodb_db=os.environ.get("MONGODB_DB", "git44"),
        data_dir=data_dir,
        # the caller's own service settings (AUTH_PORT, WORKER_SCRAPERAPI_URL, ...) win
        extra_env={k: v for k, v in os.environ.items() if k.startswith(SERVICE_PREFIXES)},
    )
    # SIGINT too: a shell without job control starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    gateway: Gateway | None = None
    try:
        stack.start(timeout=60, with_sim=not os.environ.get("WORKER_SCRAPERAPI_URL"))
        gateway = _start_gateway(stack, data_dir)
        _print_urls(stack, gateway)
        while all(proc.alive() for proc in stack.processes.values()):
            time.sleep(1)
        dead = [name for name, proc in stack.processes.items() if not proc.alive()]
        print(f"\nstopped: {', '.join(dead)} exited; see {data_dir}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...")
        return 0
    except (RuntimeError, TimeoutError, OSError) as exc:
        print(f"\ncould not start Git44: {exc}", file=sys.stderr)
        return 1
    finally:
        if gateway is not None:
            gateway.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
