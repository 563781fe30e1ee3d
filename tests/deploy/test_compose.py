"""docker-compose.yml, checked without a Docker engine: the Compose specification's JSON
schema, health checks and health-gated dependencies, scaling, and that every file,
port and variable it names exists and agrees with the rest of deploy/."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from gateway import TEMPLATE, template_placeholders

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PRODUCTION = ROOT / "deploy" / "compose.production.yml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
APP_SERVICES = {"auth": "8001", "jobs-api": "8002", "key-manager": "8004", "worker": "9103"}
PREFIXES = {"auth": "AUTH", "jobs-api": "JOBS", "key-manager": "KEYS", "worker": "WORKER"}

_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${VAR}` / `${VAR:-default}` with an (empty by default) environment."""
    env = env or {}
    return _VARIABLE.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(interpolate(path.read_text()))
    return loaded


def merge(base: Any, overlay: Any) -> Any:
    """Compose's merge of a second -f file: mappings merge, anything else is replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return copy.deepcopy(overlay)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def validator() -> jsonschema_rs.Draft201909Validator:
    return jsonschema_rs.Draft201909Validator(json.loads(SCHEMA.read_text()))


def errors(validator: jsonschema_rs.Draft201909Validator, document: Any) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema_rs.Draft201909Validator
) -> None:
    assert errors(validator, compose) == []


def test_the_production_overlay_merges_into_a_valid_file(
    compose: dict[str, Any], validator: jsonschema_rs.Draft201909Validator
) -> None:
    merged = merge(compose, load(PRODUCTION))
    assert errors(validator, merged) == []
    assert merged["services"]["auth"]["environment"]["GIT44_ENV"] == "production"
    assert merged["services"]["auth"]["environment"]["AUTH_PORT"] == "8001"  # kept


def test_the_schema_rejects_what_compose_would(
    compose: dict[str, Any], validator: jsonschema_rs.Draft201909Validator
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["depends_on"]["mongo"]["condition"] = 7
    broken["services"]["auth"]["healthcheck"]["retries"] = "many"
    broken["services"]["gateway"]["portz"] = []
    assert len(errors(validator, broken)) == 3


def test_every_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), f"{name} disables its health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


def test_every_dependency_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must say what to wait for"
        for dependency, rule in depends_on.items():
            assert rule == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency]


def test_the_app_services_wait_for_mongodb_and_rabbitmq(compose: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        assert {"mongo", "rabbitmq"} <= set(compose["services"][name]["depends_on"]), name
    assert set(compose["services"]["gateway"]["depends_on"]) == {"auth", "jobs-api", "key-manager"}


def test_workers_can_be_scaled(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "container_name" not in service, name
    worker = compose["services"]["worker"]
    assert "ports" not in worker
    assert "deploy" not in worker or "replicas" not in worker["deploy"]


def test_only_the_gateway_is_public(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name != "gateway":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    for name in [*APP_SERVICES, "mongo", "sim"]:
        assert "ports" not in compose["services"][name], name


def test_the_app_services_are_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    for name in [*APP_SERVICES, "sim"]:
        build = compose["services"][name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()


def test_health_checks_probe_the_port_each_service_listens_on(compose: dict[str, Any]) -> None:
    for name, port in APP_SERVICES.items():
        service = compose["services"][name]
        assert service["environment"][f"{PREFIXES[name]}_PORT"] == port
        assert service["environment"][f"{PREFIXES[name]}_HOST"] == "0.0.0.0"
        assert service["healthcheck"]["test"] == [
            "CMD",
            "git44-healthcheck",
            f"http://127.0.0.1:{port}/readyz",
        ]


def test_prometheus_scrapes_each_service_on_its_port() -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name, port in APP_SERVICES.items():
        assert jobs[name]["dns_sd_configs"] == [
            {"names": [name], "type": "A", "port": int(port), "refresh_interval": "15s"}
        ]
    assert {"prometheus", "rabbitmq", "rabbitmq-queues"} <= set(jobs)


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


def test_compose_gives_the_gateway_every_template_value(compose: dict[str, Any]) -> None:
    environment = compose["services"]["gateway"]["environment"]
    assert template_placeholders(TEMPLATE.read_text()) == set(environment)
    assert compose["services"]["gateway"]["volumes"] == [
        "./deploy/gateway/git44.conf.template:/etc/nginx/templates/default.conf.template:ro"
    ]


def documented_variables() -> set[str]:
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return set(names)


def test_every_compose_variable_is_documented() -> None:
    used = set(_VARIABLE.findall(COMPOSE.read_text()))
    missing = {name for name, _ in used} - documented_variables()
    assert missing == set()


def service_setting_variables() -> set[str]:
    from git44_auth.core.config import AuthSettings
    from git44_common.settings import SHARED_ENV
    from git44_jobs.core.config import JobsSettings
    from git44_keys.core.config import KeysSettings
    from git44_worker.core.config import WorkerSettings

    names = set(SHARED_ENV.values()) | {"GIT44_SECRETS_DIR"}
    for cls in (AuthSettings, JobsSettings, KeysSettings, WorkerSettings):
        prefix = str(cls.model_config.get("env_prefix", ""))
        for field in cls.model_fields:
            names.add(SHARED_ENV.get(field) or f"{prefix}{field}".upper())
    return names


def simulator_variables() -> set[str]:
    from git44_sim.cli import build_parser

    return {
        "SIM_" + action.dest.upper()
        for action in build_parser({})._actions
        if action.option_strings and action.dest != "help"
    }


def test_every_setting_of_every_service_is_documented() -> None:
    missing = (service_setting_variables() | simulator_variables()) - documented_variables()
    assert missing == set(), f"add these to deploy/.env.example: {sorted(missing)}"


def test_the_example_holds_no_real_secrets() -> None:
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE))
    for name in ("KEYS_ENCRYPTION_KEY", "RABBITMQ_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        assert values[name] == "changethis", name  # a placeholder production refuses
    assert "PRIVATE KEY" not in ENV_EXAMPLE.read_text()
