"""docker-compose.yml and its development override, checked without a Docker engine:
the Compose specification's JSON schema, health checks and health-gated dependencies,
scaling, and that every file, port and variable they name exists and agrees with the
rest of deploy/. (What makes the base file safe for production:
tests/security/test_deployment_defaults.py.)"""

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

from tests.utils.compose import COMPOSE, DEVELOPMENT, ROOT, variables

SCHEMA = Path(__file__).with_name("compose-spec.json")
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
REAL_IP_SCRIPT = ROOT / "deploy" / "gateway" / "40-git44-real-ip.sh"
APP_SERVICES = {"auth": "8001", "jobs-api": "8002", "key-manager": "8004", "worker": "9103"}
PREFIXES = {"auth": "AUTH", "jobs-api": "JOBS", "key-manager": "KEYS", "worker": "WORKER"}
ONE_SHOT = {"preflight"}  # runs to completion; the others wait for it to succeed


@pytest.fixture(scope="module")
def validator() -> jsonschema_rs.Draft201909Validator:
    return jsonschema_rs.Draft201909Validator(json.loads(SCHEMA.read_text()))


def errors(validator: jsonschema_rs.Draft201909Validator, document: Any) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema_rs.Draft201909Validator
) -> None:
    assert errors(validator, compose) == []


def test_the_development_override_merges_into_a_valid_file(
    development: dict[str, Any], validator: jsonschema_rs.Draft201909Validator
) -> None:
    assert errors(validator, development) == []
    assert development["services"]["auth"]["environment"]["GIT44_ENV"] == "development"
    assert development["services"]["auth"]["environment"]["AUTH_PORT"] == "8001"  # kept


def test_the_schema_rejects_what_compose_would(
    compose: dict[str, Any], validator: jsonschema_rs.Draft201909Validator
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["worker"]["depends_on"]["mongo"]["condition"] = 7
    broken["services"]["auth"]["healthcheck"]["retries"] = "many"
    broken["services"]["gateway"]["portz"] = []
    assert len(errors(validator, broken)) == 3


@pytest.mark.parametrize("config", ["compose", "development"])
def test_every_service_has_a_health_check(config: str, request: pytest.FixtureRequest) -> None:
    for name, service in request.getfixturevalue(config)["services"].items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", f"{name} must run once"
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), f"{name} disables its health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name


@pytest.mark.parametrize("config", ["compose", "development"])
def test_every_dependency_waits_for_health(config: str, request: pytest.FixtureRequest) -> None:
    services = request.getfixturevalue(config)["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must say what to wait for"
        for dependency, rule in depends_on.items():
            if dependency in ONE_SHOT:
                expected = {"condition": "service_completed_successfully"}
                assert rule == expected, f"{name} -> {dependency}"
                continue
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
    for name in [*APP_SERVICES, "mongo", *ONE_SHOT]:
        assert "ports" not in compose["services"][name], name


def test_the_simulator_is_development_only(
    compose: dict[str, Any], development: dict[str, Any]
) -> None:
    assert "sim" not in compose["services"]
    assert "ports" not in development["services"]["sim"]
    worker = development["services"]["worker"]["environment"]
    assert worker["WORKER_SCRAPERAPI_URL"] == "http://sim:8090/"


def test_the_app_services_are_built_from_the_dockerfile(development: dict[str, Any]) -> None:
    for name in [*APP_SERVICES, *ONE_SHOT, "sim"]:
        build = development["services"][name]["build"]
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


def test_mounted_files_exist(development: dict[str, Any]) -> None:
    for name, service in development["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    # production's secret files are the operator's (deploy/secrets/ is never committed)
    for name, secret in development["secrets"].items():
        assert (ROOT / secret["file"]).is_file(), f"no development value for the secret {name}"


def test_compose_gives_the_gateway_every_template_value(compose: dict[str, Any]) -> None:
    environment = compose["services"]["gateway"]["environment"]
    script_values = {"GATEWAY_TRUSTED_PROXIES"}  # read by the real-IP script, not nginx
    assert template_placeholders(TEMPLATE.read_text()) == set(environment) - script_values
    assert all(f"${{{name}" in REAL_IP_SCRIPT.read_text() for name in script_values)
    assert compose["services"]["gateway"]["volumes"] == [
        "./deploy/gateway/git44.conf.template:/etc/nginx/templates/default.conf.template:ro",
        "./deploy/gateway/40-git44-real-ip.sh:/docker-entrypoint.d/40-git44-real-ip.sh:ro",
    ]


def documented_variables() -> set[str]:
    names = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return set(names)


@pytest.mark.parametrize("path", [COMPOSE, DEVELOPMENT], ids=lambda path: path.name)
def test_every_compose_variable_is_documented(path: Path) -> None:
    assert variables(path.read_text()) - documented_variables() == set()


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


def test_the_example_sets_no_secret() -> None:
    """Secrets are files: a variable copied from the example would win over the file."""
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE))
    secrets = {"MONGODB_URL", "AMQP_URL", "AUTH_JWT_PRIVATE_KEYS", "KEYS_ENCRYPTION_KEY"}
    secrets |= {"WEBHOOK_SECRETS_ENCRYPTION_KEY", "AUTH_BOOTSTRAP_ADMIN_PASSWORD"}
    assert secrets & set(values) == set()
    assert "PRIVATE KEY" not in ENV_EXAMPLE.read_text()
