"""The generated files of the Kubernetes manifests (deploy/k8s/base), so that each has one
source:

- `prometheus-rule.yaml`: a PrometheusRule holding the groups of
  `deploy/prometheus/alerts.yml`, the rules Prometheus runs in compose;
- `gateway/git44.conf.template`, `gateway/40-git44-real-ip.sh`: the compose gateway's
  config and trusted-proxy script (`deploy/gateway/`), copied because kustomize reads no
  file outside the kustomization's own directory.

    .venv/bin/python -m tools.k8s_manifests          # write them
    .venv/bin/python -m tools.k8s_manifests --check  # exit 1 if any is stale

tests/deploy/test_k8s.py fails while one is stale, so `make test` catches an edit of a
source that was not followed by this command.

It also vendors the schemas the tests validate custom resources against
(deploy/k8s/crds/README.md says where each CRD comes from):

    .venv/bin/python -m tools.k8s_manifests --vendor-crd <upstream CRD file>...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "deploy" / "k8s" / "base"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
GATEWAY = ROOT / "deploy" / "gateway"
PROMETHEUS_RULE = BASE / "prometheus-rule.yaml"
GATEWAY_FILES = ("git44.conf.template", "40-git44-real-ip.sh")
CRDS = ROOT / "deploy" / "k8s" / "crds"
COMMAND = "python -m tools.k8s_manifests"


class _Dumper(yaml.SafeDumper):
    """Block style, keys in their source order, multi-line strings as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def prometheus_rule(alerts_yml: str) -> str:
    """The PrometheusRule manifest of an alerts.yml (its `groups`, unchanged)."""
    groups = yaml.safe_load(alerts_yml)["groups"]
    rule: dict[str, Any] = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "git44-alerts", "labels": {"app.kubernetes.io/name": "git44"}},
        "spec": {"groups": groups},
    }
    header = (
        f"# GENERATED from deploy/prometheus/alerts.yml by `{COMMAND}`: edit that\n"
        "# file, then run the command (tests/deploy/test_k8s.py fails while this is stale).\n"
    )
    # one line per expression, however long: a folded one is harder to read
    body = yaml.dump(rule, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096)
    return header + body


def gateway_copy(name: str, text: str) -> str:
    """deploy/gateway/<name> with a line saying where it comes from (after a shebang)."""
    note = f"# GENERATED from deploy/gateway/{name} by `{COMMAND}`: edit that file.\n"
    if text.startswith("#!"):
        shebang, _, rest = text.partition("\n")
        return f"{shebang}\n{note}{rest}"
    return note + text


def generated_files() -> dict[Path, str]:
    """Each generated file and what it must hold, from the sources as they are now."""
    files = {PROMETHEUS_RULE: prometheus_rule(ALERTS.read_text(encoding="utf-8"))}
    for name in GATEWAY_FILES:
        source = (GATEWAY / name).read_text(encoding="utf-8")
        files[BASE / "gateway" / name] = gateway_copy(name, source)
    return files


def stale_files() -> list[Path]:
    """The generated files that are missing or differ from what their sources give."""
    return [
        path
        for path, text in generated_files().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def crd_schemas(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The openAPIV3Schema of each served version of a CustomResourceDefinition, keyed by
    `<group>_<version>_<Kind>.json`, without its descriptions (prose, not validation)."""
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    return {
        f"{group}_{version['name']}_{kind}.json": _without_descriptions(
            version["schema"]["openAPIV3Schema"]
        )
        for version in crd["spec"]["versions"]
        if version.get("served", True)
    }


def _without_descriptions(node: Any) -> Any:
    # only a string is prose: a property named "description" holds a schema (a mapping)
    if isinstance(node, dict):
        return {
            key: _without_descriptions(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_without_descriptions(item) for item in node]
    return node


def vendor_crds(paths: list[Path]) -> None:
    """Write the schemas of the CRDs in `paths` into deploy/k8s/crds/."""
    for path in paths:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            for name, schema in crd_schemas(document).items():
                target = CRDS / name
                target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                print(f"wrote {target.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    parser.add_argument(
        "--vendor-crd", nargs="+", type=Path, metavar="CRD", help="vendor these CRDs' schemas"
    )
    args = parser.parse_args(argv)
    if args.vendor_crd:
        vendor_crds(args.vendor_crd)
        return 0
    stale = stale_files()
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run {COMMAND})")
        return 1 if stale else 0
    for path, text in generated_files().items():
        if path in stale:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
