"""Schemathesis over a service's OpenAPI document: how many examples, which checks."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

# The floor is 200 examples per operation; CONTRACT_EXAMPLES=20 for a quick pass.
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "200"))

PROBLEM_FIELDS = ("type", "title", "status", "code")


def problem_conformance(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every error is an RFC 9457 problem: `application/problem+json`, its `status` the
    response's, its `code` set (the schema check validates the rest of the body)."""
    status = response.status_code
    if status < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{status} answered with {content_type!r}, not application/problem+json"
    )
    body = json.loads(response.content)
    missing = [field for field in PROBLEM_FIELDS if field not in body]
    assert not missing, f"problem body lacks {missing}: {body}"
    assert body["status"] == status, f"problem status {body['status']} on a {status}"
    return None


# Zero 5xx, every response as documented: its status (the document lists each
# operation's problem statuses, git44_common.openapi), its body's schema, the problem shape.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    problem_conformance,
]

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: green stays green
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def openapi_of(app: FastAPI) -> Any:
    """The document the service serves at /openapi.json (built without starting it)."""
    return schemathesis.openapi.from_dict(app.openapi())


def plausible_link(seed: object) -> str:
    """A well-formed Sora share link derived from a generated value (deterministic)."""
    digest = hashlib.sha256(repr(seed).encode()).hexdigest()[:16]
    return f"https://sora.chatgpt.com/p/s_{digest}"


def with_real_links(case: schemathesis.Case) -> None:
    """Random strings are never Sora share links, so positive examples would all stop at
    the 422: half of them get a well-formed link (and lose a random callbackUrl) to reach
    the submission path (quota, idempotency, the 202 document) too."""
    meta = case.meta
    if meta is None or meta.generation.mode.is_negative:
        return
    items = case.body.get("items") if isinstance(case.body, dict) else None
    bodies = [case.body] if isinstance(case.body, dict) else []
    bodies += [item for item in items or [] if isinstance(item, dict)]
    for body in bodies:
        link = body.get("inputLink")
        if isinstance(link, str) and hashlib.sha256(link.encode()).digest()[0] % 2 == 0:
            body["inputLink"] = plausible_link(link)
            body.pop("callbackUrl", None)


# Examples sent per operation label, and statuses seen: printed at the end of the run.
SENT: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}


# Message framing is the HTTP client's, not the API's: a malformed Content-Length is
# refused by the server itself (uvicorn's 400 text/plain) before the application runs.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "host", "connection"})


def without_framing_headers(case: schemathesis.Case) -> None:
    for name in list(case.headers or {}):
        if name.lower() in FRAMING_HEADERS:
            del case.headers[name]


def fuzz(case: schemathesis.Case, base_url: str, headers: dict[str, str], session: Any) -> None:
    """Send one example (keep-alive session) and run the checks on the answer."""
    label = case.operation.label
    with_real_links(case)
    without_framing_headers(case)
    SENT[label] += 1
    response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
    STATUSES.setdefault(label, Counter())[response.status_code] += 1
    case.validate_response(
        response, checks=CHECKS, headers=headers, transport_kwargs={"base_url": base_url}
    )
