"""Deployment defaults that are safe (issue 12, item 6), checked on the configuration
Compose renders (tests/utils/compose.py: no Docker engine here) and by running what
that configuration runs: the preflight, and each service's settings as its container
builds them.

`docker compose up` with docker-compose.yml alone is production: secrets are files, a
missing, empty, placeholder or development one stops the stack before anything starts,
MongoDB requires authentication and the services connect with credentials from their
secret files. Development conveniences live in deploy/compose.development.yml, on
127.0.0.1 only."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from git44_auth.core.config import AuthSettings
from git44_common.settings import SHARED_ENV, ServiceSettings, connection_credentials_problem
from git44_jobs.core.config import JobsSettings
from git44_keys.core.config import KeysSettings
from git44_worker.core.config import WorkerSettings
from tests.utils.compose import COMPOSE, ROOT, render
from tests.utils.production import PRODUCTION_PUBLIC_URL, PRODUCTION_SMTP_URL

SETTINGS: dict[str, type[ServiceSettings]] = {
    "auth": AuthSettings,
    "jobs-api": JobsSettings,
    "key-manager": KeysSettings,
    "worker": WorkerSettings,
}
SERVICE_PREFIXES = ("AUTH_", "JOBS_", "KEYS_", "WORKER_")
# what the operator's .env must say (deploy/.env.example) beside compose's environment
OPERATOR_ENV = {"auth": {"AUTH_PUBLIC_URL": PRODUCTION_PUBLIC_URL}}
DEV_SECRETS = ROOT / "deploy" / "dev-secrets"
PLACEHOLDERS = ("changethis", "changeme", "git44-dev-only", "guest")
# a placeholder of each secret's kind
PLACEHOLDER_SECRET = {
    "mongodb_url": "mongodb://mongo:27017/?replicaSet=rs0",  # no credentials at all
    "amqp_url": "amqp://guest:guest@rabbitmq:5672/",
    "mongo_keyfile": "",
}


@pytest.fixture(scope="module")
def real_secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What deploy/generate-secrets.sh makes for an operator."""
    if shutil.which("openssl") is None:
        pytest.skip("deploy/generate-secrets.sh needs openssl")
    directory = tmp_path_factory.mktemp("generated") / "secrets"
    script = ROOT / "deploy" / "generate-secrets.sh"
    subprocess.run(["sh", str(script), str(directory)], check=True, capture_output=True)
    # the one secret the script cannot make: the operator's own mail server
    (directory / "auth_smtp_url").write_text(PRODUCTION_SMTP_URL)
    return directory


def mounted_secrets(config: dict[str, Any], service: str) -> list[str]:
    return [
        secret if isinstance(secret, str) else secret["source"]
        for secret in config["services"][service].get("secrets", [])
    ]


def waits_for(config: dict[str, Any], service: str, dependency: str) -> bool:
    """`service` starts only once `dependency` has done what it waits for, or a service
    it waits for does."""
    depends_on = config["services"][service].get("depends_on", {})
    return dependency in depends_on or any(waits_for(config, d, dependency) for d in depends_on)


def secrets_dir(config: dict[str, Any], service: str, source: Path, into: Path) -> Path:
    """What `service` finds in /run/secrets: its secrets, with the values in `source`."""
    into.mkdir()
    for name in mounted_secrets(config, service):
        shutil.copy(source / name, into / name)
    return into


def run_preflight(config: dict[str, Any], secrets: Path) -> subprocess.CompletedProcess[str]:
    """The preflight service's command and environment, run here with `secrets` as its
    /run/secrets (the container paths it names mapped back to the repository's files)."""
    service = config["services"]["preflight"]
    volumes = (volume.split(":") for volume in service["volumes"])
    mounted = {target: source for source, target, *_ in volumes}
    program, *args = service["command"]
    assert program == "python"
    args = [str(ROOT / mounted[arg]) if arg in mounted else arg for arg in args]
    return subprocess.run(
        [sys.executable, *args, "--secrets-dir", str(secrets)],
        env={**os.environ, **service["environment"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_without_the_override_refuses_placeholder_secrets(
    compose: dict[str, Any], real_secrets: Path, tmp_path: Path
) -> None:
    every_secret = set(compose["secrets"])
    assert set(mounted_secrets(compose, "preflight")) == every_secret
    for name in compose["services"]:
        if mounted_secrets(compose, name) and name != "preflight":
            assert waits_for(compose, name, "preflight"), f"{name} could start before the check"
    for name in ("mongo", "rabbitmq", "grafana"):
        rule = compose["services"][name]["depends_on"]["preflight"]
        assert rule == {"condition": "service_completed_successfully"}, name

    accepted = run_preflight(
        compose, secrets_dir(compose, "preflight", real_secrets, tmp_path / "ok")
    )
    assert accepted.returncode == 0, accepted.stderr

    for name in sorted(every_secret):
        secrets = secrets_dir(compose, "preflight", real_secrets, tmp_path / name)
        (secrets / name).write_text(PLACEHOLDER_SECRET.get(name, "changethis") + "\n")
        refused = run_preflight(compose, secrets)
        assert refused.returncode == 1, name
        assert f"preflight: {name}:" in refused.stderr

    public = run_preflight(
        compose, secrets_dir(compose, "preflight", DEV_SECRETS, tmp_path / "dev")
    )
    assert public.returncode == 1
    assert {line.split(":")[1].strip() for line in public.stderr.splitlines()} >= every_secret


def test_the_base_file_runs_production_whatever_env_says(compose: dict[str, Any]) -> None:
    relaxed = render(COMPOSE, env={"GIT44_ENV": "development", "COMPOSE_PROFILES": "sim"})
    for config in (compose, relaxed):
        for name in [*SETTINGS, "preflight"]:
            assert config["services"][name]["environment"]["GIT44_ENV"] == "production", name
        assert "sim" not in config["services"]
    for name in SETTINGS:
        assert "example" not in compose["services"][name]["env_file"]  # the example's values
        environment = compose["services"][name]["environment"]
        assert not {"AUTH_BOOTSTRAP_ADMIN_PASSWORD", "KEYS_SEED_KEYS"} & set(environment)


def test_no_password_or_secret_is_a_variable(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        environment = service.get("environment", {})
        for variable, value in environment.items():
            assert not any(p in str(value).lower() for p in PLACEHOLDERS), (name, variable)
            if variable.endswith(("PASSWORD", "PASS", "_KEY", "_KEYS")):
                pytest.fail(f"{name}: {variable} is a variable, not a secret file")
        assert not {"MONGODB_URL", "AMQP_URL"} & set(environment), name


def test_mongodb_requires_authentication(compose: dict[str, Any]) -> None:
    mongo = compose["services"]["mongo"]
    command = mongo["command"]
    assert "--auth" in command
    keyfile = command[command.index("--keyFile") + 1]
    entrypoint = (ROOT / "deploy/mongo/entrypoint.sh").read_text()
    assert f"-m 400 -o mongodb -g mongodb /run/secrets/mongo_keyfile {keyfile}" in entrypoint
    assert mongo["entrypoint"] == ["bash", "/git44/mongo/entrypoint.sh"]
    assert "./deploy/mongo:/git44/mongo:ro" in mongo["volumes"]
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD_FILE"] == (
        "/run/secrets/mongo_root_password"
    )
    assert {"mongo_root_password", "mongo_keyfile", "mongodb_url"} <= set(
        mounted_secrets(compose, "mongo")
    )
    # the health check initiates the replica set as root, its password read from the file
    test = mongo["healthcheck"]["test"]
    assert test[-1] == "/git44/mongo/healthcheck.js"
    assert "-p" not in test
    script = (ROOT / "deploy/mongo/healthcheck.js").read_text()
    assert "secret('mongo_root_password')" in script
    assert script.index("admin.auth(") < script.index("rs.initiate(")


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_services_connect_with_credentials_from_their_secret_files(
    service: str,
    compose: dict[str, Any],
    real_secrets: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert {"mongodb_url", "amqp_url"} <= set(mounted_secrets(compose, service))
    environment = compose["services"][service]["environment"]
    assert environment["GIT44_SECRETS_DIR"] == "/run/secrets"
    secrets = secrets_dir(compose, service, real_secrets, tmp_path / "run-secrets")
    for variable in list(os.environ):  # the container's environment only
        if variable in SHARED_ENV.values() or variable.startswith(SERVICE_PREFIXES):
            monkeypatch.delenv(variable)
    container = {**OPERATOR_ENV.get(service, {}), **environment, "GIT44_SECRETS_DIR": str(secrets)}
    for variable, value in container.items():
        monkeypatch.setenv(variable, str(value))

    settings = SETTINGS[service]()  # as the container builds them: production
    assert settings.environment == "production"
    assert settings.mongodb_url == (real_secrets / "mongodb_url").read_text().strip()
    assert settings.amqp_url == (real_secrets / "amqp_url").read_text().strip()
    assert connection_credentials_problem(settings.mongodb_url) is None

    (secrets / "amqp_url").write_text(PLACEHOLDER_SECRET["amqp_url"])
    with pytest.raises(ValidationError, match="AMQP_URL holds a placeholder password"):
        SETTINGS[service]()
    (secrets / "amqp_url").write_text((real_secrets / "amqp_url").read_text())
    (secrets / "mongodb_url").write_text(PLACEHOLDER_SECRET["mongodb_url"])
    with pytest.raises(ValidationError, match="MONGODB_URL names no user"):
        SETTINGS[service]()


def test_rabbitmq_and_grafana_passwords_are_secret_files(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == (
        "/run/secrets/grafana_admin_password"
    )
    assert "grafana_admin_password" in mounted_secrets(compose, "grafana")
    rabbitmq = compose["services"]["rabbitmq"]
    assert "environment" not in rabbitmq  # no RABBITMQ_DEFAULT_PASS
    assert mounted_secrets(compose, "rabbitmq") == ["amqp_url"]
    assert rabbitmq["entrypoint"] == ["bash", "/git44/rabbitmq-entrypoint.sh"]


def test_rabbitmq_takes_its_account_from_the_amqp_url_secret(tmp_path: Path) -> None:
    """deploy/rabbitmq/entrypoint.sh, run with its secret here and the image's entrypoint
    replaced by one that prints what RabbitMQ would be started with."""
    (tmp_path / "amqp_url").write_text("amqp://git44:s3cret%40pass%2F1@rabbitmq:5672/\n")
    image_entrypoint = tmp_path / "docker-entrypoint.sh"
    image_entrypoint.write_text(
        '#!/bin/sh\necho "$*|$RABBITMQ_DEFAULT_USER|$RABBITMQ_DEFAULT_PASS"\n'
    )
    image_entrypoint.chmod(0o755)
    script = (ROOT / "deploy/rabbitmq/entrypoint.sh").read_text()
    assert "/run/secrets/amqp_url" in script
    (tmp_path / "entrypoint.sh").write_text(script.replace("/run/secrets/", f"{tmp_path}/"))
    environment = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}

    def start() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(tmp_path / "entrypoint.sh"), "rabbitmq-server"],
            env=environment,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert start().stdout == "rabbitmq-server|git44|s3cret@pass/1\n"
    (tmp_path / "amqp_url").write_text("amqp://rabbitmq:5672/\n")
    assert start().returncode == 1  # no account: RabbitMQ would fall back to guest


def test_the_development_override_binds_every_port_to_127_0_0_1(
    development: dict[str, Any], tmp_path: Path
) -> None:
    published = {
        name: service["ports"]
        for name, service in development["services"].items()
        if service.get("ports")
    }
    assert "gateway" in published
    for name, ports in published.items():
        assert all(str(port).startswith("127.0.0.1:") for port in ports), (name, ports)
    for name in [*SETTINGS, "preflight"]:
        assert development["services"][name]["environment"]["GIT44_ENV"] == "development"
    for name, secret in development["secrets"].items():
        assert secret["file"] == f"./deploy/dev-secrets/{name}"
    secrets = secrets_dir(development, "preflight", DEV_SECRETS, tmp_path / "dev")
    assert run_preflight(development, secrets).returncode == 0  # allowed, and reported


@pytest.mark.parametrize("prefix", [None, "10.9.8"])
def test_the_services_trust_forwarded_headers_from_the_gateway_only(prefix: str | None) -> None:
    config = render(COMPOSE, env={"GIT44_NETWORK_PREFIX": prefix} if prefix else {})
    gateway = ipaddress.ip_address(
        config["services"]["gateway"]["networks"]["default"]["ipv4_address"]
    )
    (network,) = config["networks"]["default"]["ipam"]["config"]
    assert gateway in ipaddress.ip_network(network["subnet"])
    assert gateway not in ipaddress.ip_network(network["ip_range"])  # never given to another
    for name in SETTINGS:
        assert config["services"][name]["environment"]["FORWARDED_ALLOW_IPS"] == str(gateway)
