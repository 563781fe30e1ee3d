"""The public contract (tools/public_api.py): one OpenAPI 3.1 document for every public
route of the three services, current, valid, with stable ids, examples and webhooks;
and the TypeScript types generated from it, current too."""

from __future__ import annotations

import copy
import json
import re
import shutil
from functools import cache
from importlib.metadata import version
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tools import public_api

METHODS = {"get", "put", "post", "delete", "patch"}


@cache
def built() -> dict[str, Any]:
    return public_api.build()


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_the_committed_document_is_the_one_the_services_make() -> None:
    assert public_api.DOCUMENT.read_text() == public_api.render(built()), (
        "stale: run .venv/bin/python -m tools.public_api"
    )


def test_it_is_a_valid_openapi_3_1_document() -> None:
    document = built()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == version("git44-jobs")
    assert document["servers"][0]["url"] == "/"


def test_every_public_route_of_the_three_services_is_in_it_and_nothing_internal() -> None:
    merged = set(operations(built()))
    for service in public_api.service_documents():
        for method, path in operations(service):
            if path in public_api.INTERNAL_PATHS:
                assert (method, path) not in merged
            else:
                assert (method, path) in merged, (method, path)
    assert ("POST", "/api/auth/login") in merged
    assert ("GET", "/api/admin/scraper-keys") in merged  # key-manager's admin


def test_operation_ids_are_camel_case_unique_and_say_which_surface() -> None:
    ids = {key: op["operationId"] for key, op in operations(built()).items()}
    assert len(set(ids.values())) == len(ids)
    for (_, path), operation_id in ids.items():
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", operation_id), operation_id
        if path.startswith("/api/v1/"):
            assert operation_id.startswith("dev"), (path, operation_id)
        if path.startswith("/api/admin/"):
            assert operation_id.startswith("admin"), (path, operation_id)
    assert ids[("POST", "/api/removal")] == "createRemoval"
    assert ids[("GET", "/api/removal/user/jobs")] == "listRemovals"
    assert ids[("POST", "/api/v1/removals")] == "devCreateRemoval"
    assert ids[("POST", "/api/v1/removals/{job_id}/cancel")] == "devCancelRemoval"
    assert ids[("GET", "/api/admin/stats")] == "adminReadStats"
    assert ids[("POST", "/api/v1/webhooks/endpoints")] == "devCreateWebhookEndpoint"
    redeliver = (
        "POST",
        "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    )
    assert ids[redeliver] == "devRedeliverWebhook"


def _validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:git44", resource)
    schema = {"$ref": f"urn:git44#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def test_every_schema_has_an_example_that_is_valid_for_it() -> None:
    document = built()
    schemas = document["components"]["schemas"]
    assert {"JobPublic", "DevRemovalCreate", "Problem", "RemovalEvent"} <= set(schemas)
    for name, schema in schemas.items():
        (example,) = schema["examples"]
        errors = [e.message for e in _validator(document, name).iter_errors(example)]
        assert not errors, (name, errors)
    # the check can fail: an example that breaks its schema is caught
    broken = copy.deepcopy(schemas["JobPublic"]["examples"][0])
    del broken["inputLink"]
    assert list(_validator(document, "JobPublic").iter_errors(broken))


def test_every_request_and_response_body_is_a_schema_with_an_example() -> None:
    document = built()
    schemas = document["components"]["schemas"]
    for key, operation in operations(document).items():
        bodies = [operation.get("requestBody", {})] + list(operation["responses"].values())
        for body in bodies:
            for media in body.get("content", {}).values():
                schema = media.get("schema", {})
                refs = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema))
                for name in refs:
                    assert schemas[name]["examples"], (key, name)


def test_the_webhooks_section_describes_what_a_receiver_is_sent() -> None:
    document = built()
    hooks = document["webhooks"]
    assert set(hooks) == {
        "removal.queued",
        "removal.processing",
        "removal.success",
        "removal.failed",
        "removal.cancelled",
    }
    # callbackUrl receivers get what they always got; the rest is for registered endpoints
    for event, item in hooks.items():
        callback = "callbackUrl" in item["post"]["description"]
        assert callback == (event in ("removal.success", "removal.failed")), event
    for event, item in hooks.items():
        body = item["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/RemovalEvent"}
        assert body["example"]["type"] == event
        assert not list(_validator(document, "RemovalEvent").iter_errors(body["example"]))
        headers = {p["name"] for p in item["post"]["parameters"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_the_typescript_types_are_current() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (make system-packages)")
    assert public_api.TYPES.read_text() == public_api.typescript(public_api.DOCUMENT), (
        "stale: run .venv/bin/python -m tools.public_api"
    )
    types = public_api.TYPES.read_text()
    assert '"/api/v1/removals/{job_id}/cancel"' in types
    assert "devCancelRemoval" in types


def test_the_npm_lockfile_names_no_registry() -> None:
    lock = (public_api.CLIENTS / "package-lock.json").read_text()
    assert '"resolved"' not in lock
    assert "registry" not in lock
    assert "://" not in lock, "no URL at all (funding links too): make clients-lock"
    pinned = json.loads((public_api.CLIENTS / "package.json").read_text())["devDependencies"]
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in pinned.values()), pinned
