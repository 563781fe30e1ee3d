"""The public contract: one OpenAPI 3.1 document for the whole public API — auth, jobs-api
(the SPA routes and the Dev API) and the admin routes of all three services — which
jobs-api serves at `/api/openapi.json` (docs at `/api/docs`), and the TypeScript types
generated from it (docs/clients/typescript, openapi-typescript at a pinned version).

    .venv/bin/python -m tools.public_api          # write both
    .venv/bin/python -m tools.public_api --check  # exit 1 if either is stale

The document is built from the three services' own documents (their routes, models and
problem responses), so it cannot drift from the code: the check runs in `make test`.
Added here: the title, the version (jobs-api's package version), `servers`, tag
descriptions, an example on every schema (tools/examples.py), and the `webhooks`
section describing what a webhook receiver is sent. Health, readiness and metrics are
left out: they are for the platform, not for clients.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tools.examples import AT, EXAMPLES, LATER

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "services" / "jobs_api" / "git44_jobs" / "api" / "public_openapi.json"
CLIENTS = ROOT / "docs" / "clients" / "typescript"
TYPES = CLIENTS / "git44.d.ts"
INTERNAL_PATHS = {"/healthz", "/readyz", "/metrics"}
METHODS = {"get", "put", "post", "delete", "patch"}
# What the gateway itself may answer to any operation (docs/operations.md, "Gateway").
GATEWAY_PROBLEMS = {
    "414": "uri_too_long: the gateway refuses a request line over its buffers (8 KiB)",
    "429": "rate_limited: too many requests from this address (Retry-After)",
}
# the services' settings that change their documents (page sizes): left at their defaults
SETTINGS_PREFIXES = ("AUTH_", "JOBS_", "KEYS_")

TAGS = [
    {"name": "auth", "description": "Accounts and sessions: register, log in, refresh, log out."},
    {"name": "api-keys", "description": "Dev API keys of the signed-in user."},
    {"name": "removal", "description": "The SPA's removal jobs (bearer token), live events."},
    {"name": "dev-api", "description": "Integrations (`X-API-Key`): jobs, batches, webhooks."},
    {
        "name": "webhooks",
        "description": "Webhook endpoints (`X-API-Key` or bearer token): "
        "subscriptions, secret rotation, deliveries, redelivery, ping.",
    },
    {
        "name": "providers",
        "description": "Where removal providers call back (the path's token is the credential).",
    },
    {
        "name": "admin",
        "description": "Operators (`role: admin`): users, quotas, jobs, stats, dead letters, "
        "the audit log.",
    },
    {"name": "admin: scraper keys", "description": "Operators: the ScraperAPI key pool."},
    {"name": "jwks", "description": "The public keys that verify access tokens."},
]

WEBHOOK_HEADERS = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Unique per event: deduplicate on it (retries keep it)."},
    {"name": "webhook-timestamp", "in": "header", "required": True,
     "schema": {"type": "string"}, "description": "Send time, Unix seconds."},
    {"name": "webhook-signature", "in": "header", "required": True,
     "schema": {"type": "string"},
     "description": "`v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{raw body}` with your "
     "secret (Standard Webhooks); several space-separated while a secret rotates."},
]  # fmt: skip

WEBHOOK_EVENTS = {
    "removal.success": "A job succeeded: `data.outputLink` is the clean video.",
    "removal.failed": "A job failed for good (retries spent); its credit was refunded.",
    "removal.queued": "A job was queued (submitted, or again for a retry). Endpoints only.",
    "removal.processing": "A job started upstream (and is polled until ready). Endpoints "
    "only; best effort.",
    "removal.cancelled": "A queued job was cancelled; its credit was refunded. Endpoints only.",
}
# sent to the job's callbackUrl too (the others only to registered endpoints)
CALLBACK_EVENTS = ("removal.success", "removal.failed")

REMOVAL_EVENT = {
    "title": "RemovalEvent",
    "type": "object",
    "description": "A webhook's JSON body: the event type, when it happened, the job.",
    "required": ["type", "timestamp", "data"],
    "properties": {
        "type": {"type": "string", "enum": list(WEBHOOK_EVENTS)},
        "timestamp": {"type": "string", "format": "date-time"},
        "data": {"$ref": "#/components/schemas/JobPublic"},
    },
}


@contextlib.contextmanager
def default_settings() -> Iterator[None]:
    """The services' settings at their defaults while their documents are built."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(SETTINGS_PREFIXES)}
    for name in saved:
        del os.environ[name]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # placeholder secrets: not used here
            yield
    finally:
        os.environ.update(saved)


def service_documents() -> list[dict[str, Any]]:
    """auth's, jobs-api's and key-manager's OpenAPI documents, as each serves it."""
    from git44_auth.core.config import AuthSettings
    from git44_auth.main import create_app as auth_app
    from git44_jobs.core.config import JobsSettings
    from git44_jobs.main import create_app as jobs_app
    from git44_keys.core.config import KeysSettings
    from git44_keys.main import create_app as keys_app

    with default_settings():
        return [
            auth_app(AuthSettings()).openapi(),
            jobs_app(JobsSettings()).openapi(),
            keys_app(KeysSettings()).openapi(),
        ]


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One document of the public paths of `documents`; the same path or schema name
    twice must mean the same thing."""
    paths: dict[str, Any] = {}
    served: dict[str, Any] = {}  # each path as its service documents it
    schemas: dict[str, Any] = {}
    security: dict[str, Any] = {}
    for document in documents:
        for path, item in document["paths"].items():
            if path in INTERNAL_PATHS:
                continue
            if path in served and served[path] != item:
                raise ValueError(f"{path} is served by two services")
            served[path] = item
            paths[path] = _through_the_gateway(item)
        components = document.get("components", {})
        for into, found in ((schemas, components.get("schemas", {})),
                            (security, components.get("securitySchemes", {}))):  # fmt: skip
            for name, schema in found.items():
                if name in into and into[name] != schema:
                    raise ValueError(f"two different schemas are named {name}")
                into[name] = schema
    schemas["RemovalEvent"] = REMOVAL_EVENT
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Git44 public API",
            "version": version("git44-jobs"),
            "description": (
                "Remove the watermark of Sora videos. One origin serves every path: the "
                "SPA routes with a bearer token from `/api/auth/login`, the Dev API "
                "(`/api/v1`) with an `X-API-Key`, admin routes with an admin's token. "
                "Errors are RFC 9457 problems (`application/problem+json`, stable `code`). "
                "Guide: docs/api.md."
            ),
        },
        "servers": [{"url": "/", "description": "the gateway's origin (make run: port 8080)"}],
        "tags": TAGS,
        "paths": paths,
        "webhooks": _webhooks(),
        "components": {"schemas": _used(paths, schemas), "securitySchemes": security},
    }


def _through_the_gateway(item: dict[str, Any]) -> dict[str, Any]:
    """A path's operations as the gateway's origin answers them: its own problems too."""
    item = copy.deepcopy(item)
    for method, operation in item.items():
        if method not in METHODS:
            continue
        responses = operation.setdefault("responses", {})
        for status, description in GATEWAY_PROBLEMS.items():
            responses.setdefault(status, {"description": description, "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }})  # fmt: skip
    return item


def _webhooks() -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/RemovalEvent"}
    hooks = {}
    for event, summary in WEBHOOK_EVENTS.items():
        name = "on" + "".join(part.capitalize() for part in event.split("."))
        example = {**EXAMPLES["RemovalEvent"], "type": event}
        if event == "removal.failed":
            data = {**example["data"], "status": "failed", "outputLink": None,
                    "error": "RemoveSora did not finish the task", "retryCount": 3}  # fmt: skip
            example = {**example, "data": data}
        elif event != "removal.success":
            status = event.split(".", 1)[1]
            data = {**example["data"], "status": status, "outputLink": None,
                    "completedAt": None if status != "cancelled" else LATER,
                    "startedAt": None if status == "queued" else AT}  # fmt: skip
            example = {**example, "data": data}
        where = (
            "Sent to the job's `callbackUrl`, signed with the account's webhook secret "
            "(`GET /api/v1/webhook-secret`), and to every registered endpoint subscribed to "
            "it, signed with the endpoint's secret."
            if event in CALLBACK_EVENTS
            else "Sent to every registered endpoint subscribed to it, signed with the "
            "endpoint's secret."
        )
        hooks[event] = {
            "post": {
                "operationId": name,
                "summary": summary,
                "description": where + " Answer 2xx within 10 s; anything else is retried "
                "with backoff.",
                "parameters": WEBHOOK_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref, "example": example}},
                },
                "responses": {"2XX": {"description": "Received."}},
            }
        }
    return hooks


def _used(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The schemas `paths` and the webhooks reach (health's are left behind), each with
    its example."""
    wanted = {"RemovalEvent"}
    pending = [json.dumps(paths)]
    while pending:
        text = pending.pop()
        for name in schemas:
            if name not in wanted and f'"#/components/schemas/{name}"' in text:
                wanted.add(name)
                pending.append(json.dumps(schemas[name]))
    used = {}
    for name in sorted(wanted):
        if name not in EXAMPLES:
            raise ValueError(f"schema {name} has no example in tools/examples.py")
        used[name] = {**copy.deepcopy(schemas[name]), "examples": [EXAMPLES[name]]}
    return used


def build() -> dict[str, Any]:
    return merge(service_documents())


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def typescript(document_path: Path) -> str:
    """The TypeScript types openapi-typescript generates from the document."""
    generator = CLIENTS / "node_modules" / ".bin" / "openapi-typescript"
    if not generator.exists():
        raise FileNotFoundError(f"{generator}: run `make clients` (npm ci) first")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "git44.d.ts"
        subprocess.run(
            [str(generator), str(document_path), "--output", str(out)],
            check=True, capture_output=True, cwd=CLIENTS,
        )  # fmt: skip
        return out.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args(argv)
    document = render(build())
    if args.check:
        stale = [] if DOCUMENT.exists() and DOCUMENT.read_text() == document else [DOCUMENT]
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "public_openapi.json"
            fresh.write_text(document)
            if not TYPES.exists() or TYPES.read_text() != typescript(fresh):
                stale.append(TYPES)
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run .venv/bin/python -m tools.public_api)")
        return 1 if stale else 0
    DOCUMENT.write_text(document)
    TYPES.write_text(typescript(DOCUMENT))
    print(f"wrote {DOCUMENT.relative_to(ROOT)} and {TYPES.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
