"""The shipped Prometheus config and alert rules, checked by Debian's promtool; each alert
fires on synthetic series (tests/deploy/prometheus/alerts.test.yml) and has a runbook."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = Path(__file__).parent / "prometheus" / "alerts.test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"

# The alerts DESIGN.md (section 9) asks for, by the alert that covers each.
REQUIRED = {
    "Git44HighErrorRate": "high error rate",
    "Git44RemovalQueueBacklog": "queue backup (depth)",
    "Git44RemovalQueueStalled": "queue backup (age: not draining)",
    "Git44AllScraperKeysLimited": "all ScraperAPI keys limited",
    "Git44ServiceDown": "a service down",
    "Git44QuotaExhaustion": "users' quota exhaustion",
}


def promtool_run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, check=False, timeout=60
    )


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def recordings() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "record" in rule]


def test_promtool_accepts_the_config_and_its_rule_files(promtool: str) -> None:
    result = promtool_run(promtool, "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 12 rules found" in result.stdout + result.stderr  # 10 alerts, 2 records


def test_promtool_accepts_the_rules(promtool: str) -> None:
    result = promtool_run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_in_the_promtool_unit_tests(promtool: str) -> None:
    result = promtool_run(promtool, "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tested
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == {str(rule["alert"]) for rule in alerts()}
    recorded = {case["expr"] for test in tested for case in test.get("promql_expr_test", [])}
    assert recorded == {str(rule["record"]) for rule in recordings()}


def test_the_required_alerts_exist() -> None:
    assert set(REQUIRED) <= {rule["alert"] for rule in alerts()}


def test_every_alert_links_a_runbook_entry_that_exists() -> None:
    text = OPERATIONS.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#{2,4} (.+)$", text, re.MULTILINE)
    }
    for rule in alerts():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        page, _, anchor = str(annotations["runbook"]).partition("#")
        assert page == "docs/operations.md"
        assert anchor in anchors, f"{rule['alert']}: no runbook section #{anchor}"
