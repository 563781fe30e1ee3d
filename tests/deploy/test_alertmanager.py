"""The shipped Alertmanager config, checked by Debian's amtool: it loads, every alert of
deploy/prometheus/alerts.yml reaches the receiver its severity names, the inhibitions
name alerts that exist, and the receivers are placeholders that reach no real host until
an operator points them at one. Prometheus sends to it (tests/deploy/test_prometheus.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.utils.compose import COMPOSE, render
from tests.utils.infra import SYSTEM_PACKAGES_HINT

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RECEIVER_FOR = {"critical": "pager", "warning": "tickets"}


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return loaded


@pytest.fixture(scope="module")
def amtool() -> str:
    binary = shutil.which("amtool")
    if binary is None:
        pytest.skip(
            "amtool (Debian package prometheus-alertmanager) is not installed; "
            + SYSTEM_PACKAGES_HINT
        )
    return binary


def amtool_run(amtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([amtool, *args], capture_output=True, text=True, check=False, timeout=30)


def routed_to(amtool: str, labels: dict[str, str]) -> str:
    """The receiver Alertmanager picks for an alert with `labels`."""
    pairs = [f"{name}={value}" for name, value in labels.items()]
    result = amtool_run(amtool, "config", "routes", "test", f"--config.file={CONFIG}", *pairs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_accepts_the_config(amtool: str) -> None:
    result = amtool_run(amtool, "check-config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: str(rule["alert"]))
def test_each_alert_reaches_the_receiver_its_severity_names(
    amtool: str, rule: dict[str, Any]
) -> None:
    labels = {"alertname": str(rule["alert"]), **rule["labels"]}
    assert routed_to(amtool, labels) == RECEIVER_FOR[labels["severity"]]


def test_an_alert_without_a_known_severity_still_reaches_someone(amtool: str) -> None:
    assert routed_to(amtool, {"alertname": "SomethingNew"}) == "tickets"
    assert routed_to(amtool, {"alertname": "SomethingNew", "severity": "info"}) == "tickets"


def test_a_critical_alert_inhibits_the_warning_of_the_same_name() -> None:
    assert {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["alertname"],
    } in config()["inhibit_rules"]


def test_every_inhibition_names_alerts_that_exist() -> None:
    names = {str(rule["alert"]) for rule in alerts()}
    for inhibition in config()["inhibit_rules"]:
        for matcher in inhibition["source_matchers"] + inhibition["target_matchers"]:
            found = re.fullmatch(r'alertname=~?"([^"]+)"', matcher)
            if found:
                assert set(found.group(1).split("|")) <= names, matcher


def test_the_receivers_are_placeholders_that_resolve_nowhere() -> None:
    receivers = {receiver["name"]: receiver for receiver in config()["receivers"]}
    assert set(receivers) == set(RECEIVER_FOR.values())
    for name, receiver in receivers.items():
        for webhook in receiver["webhook_configs"]:
            host = urlsplit(webhook["url"]).hostname or ""
            assert host.endswith(".changeme.internal"), f"{name}: {webhook['url']}"
            assert webhook["send_resolved"] is True


def test_compose_runs_alertmanager_with_this_config_and_prometheus_sends_to_it() -> None:
    services = render(COMPOSE)["services"]
    alertmanager = services["alertmanager"]
    mount = "./deploy/alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro"
    assert mount in alertmanager["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in alertmanager["command"]
    assert alertmanager["ports"] == ["127.0.0.1:9093:9093"]
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    (manager,) = prometheus["alerting"]["alertmanagers"]
    assert manager["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["alertmanager"]["static_configs"] == [{"targets": ["alertmanager:9093"]}]
