"""What Prometheus and Grafana get from the running services: every /metrics output
passes `promtool check metrics`, and every metric the dashboards and the alert rules
query is one the services (or RabbitMQ's prometheus plugin, the MongoDB exporter, or
Prometheus) export."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from localstack import SERVICES, LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
NAMES = [spec.name for spec in SERVICES]

# Not from our services: Prometheus' own `up`, and RabbitMQ's prometheus plugin,
# /metrics/detailed families queue_coarse_metrics and queue_consumer_count (RabbitMQ's
# "Monitoring with Prometheus" guide, configurable metric groups) ...
EXTERNAL = {
    "up",
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_messages",
    "rabbitmq_detailed_queue_process_reductions_total",
    "rabbitmq_detailed_queue_consumers",
}
# ... its aggregated /metrics (rabbitmq-server deps/rabbitmq_prometheus, collectors
# prometheus_rabbitmq_core_metrics_collector and _global_metrics_collector) ...
EXTERNAL |= {
    "rabbitmq_alarms_memory_used_watermark",
    "rabbitmq_alarms_free_disk_space_watermark",
    "rabbitmq_process_resident_memory_bytes",
    "rabbitmq_resident_memory_limit_bytes",
    "rabbitmq_disk_space_available_bytes",
    "rabbitmq_disk_space_available_limit_bytes",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_global_messages_received_total",
    "rabbitmq_global_messages_confirmed_total",
    "rabbitmq_global_messages_delivered_total",
    "rabbitmq_connections",
    "rabbitmq_channels",
    "rabbitmq_queues",
}
# ... and percona/mongodb_exporter 0.47 (its README and exporter/v1_compatibility.go):
# mongodb_up, replSetGetStatus (mongodb_rs_*), getDiagnosticData's serverStatus
# (mongodb_ss_*) and dbStats (mongodb_dbstats_*).
EXTERNAL |= {
    "mongodb_up",
    "mongodb_rs_members_optimeDate",
    "mongodb_ss_opcounters",
    "mongodb_ss_connections",
    "mongodb_dbstats_dataSize",
    "mongodb_dbstats_storageSize",
    "mongodb_dbstats_indexSize",
    "mongodb_dbstats_objects",
}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}
_PROMQL_WORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                 "group_right", "bool", "offset", "inf", "nan"}  # fmt: skip


@pytest.fixture(scope="module")
def expositions(fast_stack: LocalStack) -> dict[str, str]:
    return {name: httpx.get(f"{fast_stack.url(name)}/metrics").text for name in NAMES}


def exported_names(exposition: str) -> set[str]:
    """Sample names a scrape of `exposition` yields, labelled children or not."""
    names = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", exposition, re.M))
    for family, kind in re.findall(r"^# TYPE (\S+) (\S+)", exposition, re.M):
        base = family.removesuffix("_total")
        names |= {family} | {base + suffix for suffix in SUFFIXES.get(kind, ())}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    tokens = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr)
    return {name for name, call in tokens if not call and name.lower() not in _PROMQL_WORDS} - {
        "$__rate_interval"
    }


def dashboard_queries(dashboard: Path | None = None) -> Iterator[tuple[str, str]]:
    for path in [dashboard] if dashboard else DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                where = f"{path.stem}: {panel['title']}"
                yield where, target["expr"].replace("$__rate_interval", "5m")


def rule_queries() -> Iterator[tuple[str, str]]:
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule["record"], rule["expr"]


@pytest.mark.parametrize("name", NAMES)
def test_metrics_pass_promtool_check_metrics(
    promtool: str, expositions: dict[str, str], name: str
) -> None:
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=expositions[name],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # promtool exits 1 for lint findings too; report them, fail only on what it could not parse
    assert "error while linting" not in result.stderr, result.stderr
    problems = (result.stdout + result.stderr).strip()
    assert problems == "", f"promtool check metrics on {name}:\n{problems}"


def test_metric_names_follow_prometheus_conventions(expositions: dict[str, str]) -> None:
    for name, exposition in expositions.items():
        for family, kind in re.findall(r"^# TYPE (\S+) (\S+)", exposition, re.M):
            if not family.startswith("git44_"):
                continue
            assert re.fullmatch(r"git44_[a-z0-9_]+", family), family
            assert (kind == "counter") == family.endswith("_total"), f"{name}: {family}"
            assert not re.search(r"_(ms|milliseconds|minutes|hours)(_|$)", family), family


def test_both_dashboards_ship() -> None:
    assert [path.stem for path in DASHBOARDS] == ["git44-broker-database", "git44-job-flow"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_the_dashboard_is_valid_grafana_json(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] == path.stem
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"type", "title", "gridPos"} <= set(panel)
        for target in panel.get("targets", []):
            assert target["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert target["expr"]
            assert target["refId"]
    assert len(list(dashboard_queries(path))) >= 20


def test_every_dashboard_query_parses(promtool: str, tmp_path: Path) -> None:
    """Each query as a recording rule: `promtool check rules` parses its PromQL."""
    records = [
        {"record": f"dashboard:query_{index}", "expr": expr}
        for index, (_, expr) in enumerate(dashboard_queries())
    ]
    rules = tmp_path / "dashboards.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": records}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_queried_metric_is_exported(expositions: dict[str, str]) -> None:
    exported = EXTERNAL.union(*(exported_names(text) for text in expositions.values()))
    unknown = {
        f"{where}: {metric}"
        for where, expr in [*dashboard_queries(), *rule_queries()]
        for metric in metric_names(expr)
        if metric not in exported
    }
    assert unknown == set()


def test_the_name_extraction_sees_through_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, service) (rate(a_bucket{x=~"b|c"}[5m])))'
        " / on () group_left (q) (sum(b_total) or vector(0)) > 0.5 and bool up"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}
