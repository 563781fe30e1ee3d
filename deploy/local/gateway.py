"""The nginx gateway on this machine: the compose gateway's config, rendered for local ports.

`deploy/gateway/git44.conf.template` is the one gateway config. Docker Compose renders it
with the nginx image's envsubst step (upstreams `auth:8001`, ...); this module renders
the same template with `127.0.0.1:<port>` upstreams, wraps it in a small main config of
its own (pid, logs and temp files in a run directory) and runs Debian's nginx on it. The
trusted-proxy list is rendered by the same script the image runs at start
(`deploy/gateway/40-git44-real-ip.sh`).

    gateway = start_gateway({"auth": 8001, "jobs-api": 8002, "key-manager": 8004},
                            listen_port=8080, run_dir=Path(".run"))
    ...
    gateway.stop()
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from localstack import ManagedProcess

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "gateway" / "git44.conf.template"
REAL_IP_SCRIPT = ROOT / "deploy" / "gateway" / "40-git44-real-ip.sh"
GATEWAY_DEFAULT_PORT = 8080
DEFAULT_SPA_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173")

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

# What the template needs besides the upstreams, with the defaults compose uses too.
DEFAULTS: dict[str, str] = {
    "GATEWAY_CLIENT_MAX_BODY_SIZE": "64k",
    "GATEWAY_CLIENT_TIMEOUT": "30s",
    "GATEWAY_PROXY_CONNECT_TIMEOUT": "5s",
    "GATEWAY_PROXY_TIMEOUT": "60s",
    "GATEWAY_SSE_READ_TIMEOUT": "3600s",
    "GATEWAY_UPSTREAM_PARAMS": "max_fails=1 fail_timeout=5s",
    "GATEWAY_RESOLVER": "127.0.0.1",
    "GATEWAY_REQUESTS_PER_SECOND": "20",
    "GATEWAY_REQUEST_BURST": "100",
    "GATEWAY_CONNECTIONS_PER_IP": "100",
    "GATEWAY_HSTS_MAX_AGE": "0",
}


def template_placeholders(template: str) -> set[str]:
    """The `${NAME}` placeholders of a template."""
    return set(_PLACEHOLDER.findall(template))


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill every `${NAME}`, as the nginx image's envsubst does; a missing value is an error."""
    missing = template_placeholders(template) - set(values)
    if missing:
        raise KeyError(f"gateway template values missing: {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def origins_regex(origins: Iterable[str]) -> str:
    """One nginx regular expression matching exactly these origins (`a|b`)."""
    return "|".join(re.escape(origin.rstrip("/")) for origin in origins)


def local_values(
    ports: Mapping[str, int],
    *,
    listen_port: int,
    access_log: str,
    cors_origins: Iterable[str] = DEFAULT_SPA_ORIGINS,
) -> dict[str, str]:
    """Template values for services on 127.0.0.1 (`ports` keyed like LocalStack.ports)."""
    return {
        **DEFAULTS,
        "AUTH_UPSTREAM": f"127.0.0.1:{ports['auth']}",
        "JOBS_UPSTREAM": f"127.0.0.1:{ports['jobs-api']}",
        "KEYS_UPSTREAM": f"127.0.0.1:{ports['key-manager']}",
        "GATEWAY_LISTEN": f"127.0.0.1:{listen_port}",
        "GATEWAY_ACCESS_LOG": access_log,
        "GATEWAY_CORS_ORIGINS_REGEX": origins_regex(cors_origins),
    }


def write_trusted_proxies(path: Path, trusted_proxies: Iterable[str]) -> None:
    """The `set_real_ip_from` lines, rendered by the image's own start script."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEWAY_REAL_IP_CONF": str(path),
        "GATEWAY_TRUSTED_PROXIES": " ".join(trusted_proxies),
    }
    subprocess.run(["sh", str(REAL_IP_SCRIPT)], env=env, check=True, capture_output=True)


def main_config(run_dir: Path, server_conf: Path, real_ip_conf: Path) -> str:
    """nginx.conf around the rendered server config, with every path inside `run_dir`."""
    temp = run_dir / "temp"
    # As root, nginx's workers would run as `nobody`, who cannot enter a private run dir.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        f"pid {run_dir / 'nginx.pid'};\n"
        f"error_log {run_dir / 'gateway-error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    client_body_temp_path {temp / 'client_body'};\n"
        f"    proxy_temp_path {temp / 'proxy'};\n"
        f"    fastcgi_temp_path {temp / 'fastcgi'};\n"
        f"    uwsgi_temp_path {temp / 'uwsgi'};\n"
        f"    scgi_temp_path {temp / 'scgi'};\n"
        f"    include {real_ip_conf};\n"
        f"    include {server_conf};\n"
        "}\n"
    )


def write_local_config(
    run_dir: Path,
    ports: Mapping[str, int],
    *,
    listen_port: int = GATEWAY_DEFAULT_PORT,
    cors_origins: Iterable[str] = DEFAULT_SPA_ORIGINS,
    trusted_proxies: Iterable[str] = (),
    overrides: Mapping[str, str] | None = None,
) -> Path:
    """Render the gateway for local ports into `run_dir`; returns the main config's path.

    `overrides` replaces template values (e.g. a low `GATEWAY_REQUEST_BURST` in a test)."""
    run_dir = run_dir.resolve()
    (run_dir / "temp").mkdir(parents=True, exist_ok=True)
    values = local_values(
        ports,
        listen_port=listen_port,
        access_log=str(run_dir / "gateway-access.log"),
        cors_origins=cors_origins,
    )
    server_conf = run_dir / "git44.conf"
    server_conf.write_text(render_template(TEMPLATE.read_text(), {**values, **(overrides or {})}))
    real_ip_conf = run_dir / "git44-real-ip.conf"
    write_trusted_proxies(real_ip_conf, trusted_proxies)
    main_conf = run_dir / "nginx.conf"
    main_conf.write_text(main_config(run_dir, server_conf, real_ip_conf))
    return main_conf


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a non-root PATH may lack), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def nginx_command(nginx: str, main_conf: Path, *extra: str) -> list[str]:
    run_dir = main_conf.parent
    return [nginx, "-p", str(run_dir), "-e", str(run_dir / "gateway-error.log"),
            "-c", str(main_conf), *extra]  # fmt: skip


def check_config(main_conf: Path, nginx: str | None = None) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a rendered config (returncode 0 when valid; output in stderr)."""
    binary = nginx or nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed")
    return subprocess.run(
        nginx_command(binary, main_conf, "-t"), capture_output=True, text=True, check=False
    )


@dataclass
class Gateway:
    process: ManagedProcess
    port: int
    config: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.stop()


def start_gateway(
    ports: Mapping[str, int],
    *,
    run_dir: Path,
    listen_port: int = GATEWAY_DEFAULT_PORT,
    cors_origins: Iterable[str] = DEFAULT_SPA_ORIGINS,
    trusted_proxies: Iterable[str] = (),
    overrides: Mapping[str, str] | None = None,
    timeout: float = 15.0,
) -> Gateway:
    """Render, check and start nginx in the foreground; returns once `/healthz` answers."""
    nginx = nginx_binary()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx-light)")
    main_conf = write_local_config(
        run_dir,
        ports,
        listen_port=listen_port,
        cors_origins=cors_origins,
        trusted_proxies=trusted_proxies,
        overrides=overrides,
    )
    checked = check_config(main_conf, nginx)
    if checked.returncode != 0:
        raise RuntimeError(f"gateway config rejected by nginx -t:\n{checked.stderr}")
    args = nginx_command(nginx, main_conf, "-g", "daemon off;")
    process = ManagedProcess("gateway", args, log_dir=main_conf.parent).start()
    gateway = Gateway(process=process, port=listen_port, config=main_conf)
    process.wait_http_ok(f"{gateway.url}/healthz", timeout=timeout)
    return gateway
