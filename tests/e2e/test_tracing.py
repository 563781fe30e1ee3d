"""Tracing across real processes (issue 17): with `OTEL_EXPORTER_OTLP_ENDPOINT` set,
every service exports spans to an OTLP/HTTP receiver, and one job is one trace — from
the request jobs-api serves (or the outbox relay that publishes a job the request could
not), through the worker, the key-lease RPC to key-manager and the upstream calls —
each span the child of another span of that trace; the services' log lines carry its
trace id."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from localstack import LocalStack

from git44_common.clock import utc_now
from git44_common.jobs.record import new_job_document
from git44_common.mongo import create_mongo_client
from tests.utils.accounts import register_account
from tests.utils.otlp import ReceivedSpan, TraceReceiver, serving_trace_receiver
from tests.utils.receiver import serving_receiver
from tests.utils.stack import LOCAL_WEBHOOKS, running_stack
from tests.utils.waiting import eventually

pytestmark = pytest.mark.e2e

CLIENT, PRODUCER, CONSUMER, SERVER = 3, 4, 5, 2  # opentelemetry.proto Span.SpanKind


@pytest.fixture(scope="module")
def traces() -> Iterator[TraceReceiver]:
    with serving_trace_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(
    traces: TraceReceiver,
    mongo_url: str,
    amqp_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalStack]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": traces.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # ms: spans leave within a fifth of a second
        "JOBS_OUTBOX_INTERVAL_SECONDS": "0.5",
        "JOBS_OUTBOX_GRACE_SECONDS": "1",
        **LOCAL_WEBHOOKS,  # the job's webhook goes to a receiver on this machine
    }
    with running_stack(
        mongo_url=mongo_url,
        amqp_url=amqp_url,
        data_dir=tmp_path_factory.mktemp("tracing"),
        tag="tr",
        extra_env=env,
    ) as local:
        yield local


def new_traceparent() -> tuple[str, str, str]:
    """(traceparent, trace id, parent span id) of a caller's own trace."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def complete_trace(
    traces: TraceReceiver, trace_id: str, root_parent: str, services: set[str]
) -> Callable[[], Awaitable[list[ReceivedSpan] | None]]:
    """A check for `eventually`: the trace once every span in it hangs from another span
    of it (or from the caller's), and spans of every one of `services` have arrived."""

    async def check() -> list[ReceivedSpan] | None:
        spans = traces.trace(trace_id)
        known = {span.span_id for span in spans} | {root_parent}
        if any(span.parent_span_id not in known for span in spans):
            return None  # a parent still open or not exported yet
        return spans if services <= {span.service for span in spans} else None

    return check


async def wait_success(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
    async def finished() -> bool:
        return bool((await http.get(url, headers=headers)).json()["status"] == "success")

    await eventually(finished, within=40)


def log_lines_with(stack: LocalStack, service: str, trace_id: str) -> list[dict[str, object]]:
    lines = []
    for line in stack.processes[service].output().splitlines():
        if trace_id in line and line.startswith("{"):
            record = json.loads(line)
            if record.get("trace_id") == trace_id:
                lines.append(record)
    return lines


async def test_one_job_is_one_trace_across_every_service(
    stack: LocalStack, traces: TraceReceiver
) -> None:
    traceparent, trace_id, parent = new_traceparent()
    secret_path = f"/hooks/{secrets.token_hex(12)}"  # as Slack's: the path is the secret
    async with (
        serving_receiver(secret_path) as receiver,
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
    ):
        account = await register_account(http, stack.url("auth"), prefix="trace")
        api = {"X-API-Key": account["apiKey"]["key"]}
        submitted = await http.post(
            f"{stack.url('jobs-api')}/api/v1/removals",
            json={
                "inputLink": f"https://sora.chatgpt.com/p/s_tr{uuid.uuid4().hex[:16]}",
                "callbackUrl": receiver.url,
            },
            headers={**api, "traceparent": traceparent},
        )
        assert submitted.status_code == 202, submitted.text
        job_url = f"{stack.url('jobs-api')}/api/v1/removals/{submitted.json()['id']}"
        await wait_success(http, job_url, api)
        await eventually(lambda: asyncio.sleep(0, result=receiver.received), within=20)
    # the webhook request carries the job's trace to the receiver
    headers, _ = receiver.received[0]
    assert headers["traceparent"].split("-")[1] == trace_id

    services = {"jobs-api", "worker", "key-manager"}
    whole = complete_trace(traces, trace_id, parent, services)
    hook_origin = f"http://127.0.0.1:{receiver.port}"

    async def with_the_webhook() -> list[ReceivedSpan] | None:
        spans = await whole()
        sent = spans and any(
            str(s.attributes.get("http.url", "")).startswith(hook_origin) for s in spans
        )
        return spans if sent else None

    spans = await eventually(with_the_webhook, within=20)
    # the request jobs-api served is the caller's child; everything else hangs below it
    roots = [span for span in spans if span.parent_span_id == parent]
    assert [(span.service, span.kind) for span in roots] == [("jobs-api", SERVER)]
    by_service = {name: [s for s in spans if s.service == name] for name in services}
    assert any(s.kind == PRODUCER for s in by_service["jobs-api"])  # removal.requested
    assert any(s.kind == CONSUMER for s in by_service["worker"])  # ... taken by the worker
    assert any(s.kind == CONSUMER for s in by_service["key-manager"])  # a key-lease RPC
    # the upstream calls: a create and at least one poll, through the simulated proxy
    sim = stack.url("sim")
    upstream = [
        s
        for s in by_service["worker"]
        if s.kind == CLIENT and str(s.attributes.get("http.url", "")).startswith(sim)
    ]
    # ... whose URLs carry the ScraperAPI key in their query: never in a span
    assert all("demo-key" not in str(s.attributes) for s in spans)
    assert all("api_key=[REDACTED]" in str(s.attributes["http.url"]) for s in upstream)
    assert len(upstream) >= 2, [s.name for s in by_service["worker"] if s.kind == CLIENT]
    # the webhook's span keeps only the receiver's origin: its path may be its secret
    hooks = [
        s
        for s in by_service["worker"]
        if s.kind == CLIENT and str(s.attributes.get("http.url", "")).startswith(hook_origin)
    ]
    assert [s.attributes["http.url"] for s in hooks] == [f"{hook_origin}/[REDACTED]"]
    assert all(secret_path not in str(s.attributes) for s in spans)
    # the database commands are in the trace too
    assert any(s.attributes.get("db.system") == "mongodb" for s in by_service["worker"])
    # and the log lines of that work carry its trace id
    for service in ("jobs-api", "worker"):
        assert log_lines_with(stack, service, trace_id), f"no {service} log line in the trace"


async def test_a_job_the_outbox_relay_publishes_continues_its_submissions_trace(
    stack: LocalStack, traces: TraceReceiver
) -> None:
    """A job committed but never published (the process died in between) carries the
    traceparent of its submission; the relay publishes it in that trace."""
    traceparent, trace_id, parent = new_traceparent()
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        account = await register_account(http, stack.url("auth"), prefix="trace")
    job_id, now = uuid.uuid4().hex, utc_now()
    job = new_job_document(
        job_id=job_id,
        user_id=account["user"]["id"],
        source="api",
        input_link=f"https://sora.chatgpt.com/p/s_tr{uuid.uuid4().hex[:16]}",
        now=now - timedelta(seconds=30),
    )
    job["traceparent"] = traceparent
    assert stack.mongodb_url is not None
    mongo = create_mongo_client(stack.mongodb_url, app_name="e2e-tracing")
    try:
        jobs = mongo[stack.mongodb_db]["removal_jobs"]
        await jobs.insert_one(job)

        async def succeeded() -> bool:
            stored = await jobs.find_one({"_id": job_id})
            return stored is not None and stored["status"] == "success"

        await eventually(succeeded, within=40)
    finally:
        await mongo.close()

    services = {"jobs-api", "worker", "key-manager"}
    spans = await eventually(complete_trace(traces, trace_id, parent, services), within=20)
    roots = [span for span in spans if span.parent_span_id == parent]
    assert [(span.service, span.name) for span in roots] == [("jobs-api", "outbox relay")]
    assert roots[0].attributes["git44.job_id"] == job_id
