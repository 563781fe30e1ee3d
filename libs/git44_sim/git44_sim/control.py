"""Control plane under `/_control`: keys, config, counters, tasks and received mail for
tests and benches."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Response

from git44_sim.config import SimConfig
from git44_sim.deps import State
from git44_sim.models import (
    ConfigPublic,
    ConfigUpdate,
    KeyPublic,
    KeysPublic,
    KeyStatsPublic,
    KeyUpdate,
    MailPublic,
    MailsPublic,
    ProcessingSeconds,
    ResetRequest,
    StatsPublic,
    TaskInfo,
    TasksPublic,
)
from git44_sim.records import SimStats

router = APIRouter(prefix="/_control", tags=["control"])


@router.get("/keys", response_model=KeysPublic)
async def list_keys(state: State) -> KeysPublic:
    """Every key with its counters."""
    return KeysPublic(data=[KeyPublic.from_account(a) for a in state.accounts.values()])


@router.put("/keys/{api_key}", response_model=KeyPublic)
async def put_key(api_key: str, update: KeyUpdate, state: State) -> KeyPublic:
    """Create a key or update its limits/counter."""
    account = state.put_account(
        api_key,
        request_limit=update.request_limit,
        concurrency_limit=update.concurrency_limit,
        request_count=update.request_count,
    )
    return KeyPublic.from_account(account)


@router.delete("/keys/{api_key}", status_code=204)
async def delete_key(api_key: str, state: State) -> Response:
    """Remove a key (its requests get 401 from now on)."""
    if state.delete_account(api_key) is None:
        raise HTTPException(status_code=404, detail="unknown key")
    return Response(status_code=204)


@router.get("/config", response_model=ConfigPublic)
async def get_config(state: State) -> ConfigPublic:
    """Current latencies, failure rates and processing times."""
    return config_public(state.config)


@router.put("/config", response_model=ConfigPublic)
async def update_config(update: ConfigUpdate, state: State) -> ConfigPublic:
    """Change only the fields given."""
    changes: dict[str, float | int] = {}
    renamed = {"processing_seconds", "forward_timeout_seconds", "download_link_ttl_seconds"}
    for name in update.model_fields_set - renamed:
        value = getattr(update, name)
        if value is not None:
            changes[name] = value
    if update.processing_seconds is not None:
        changes["processing_min_s"] = update.processing_seconds.min
        changes["processing_max_s"] = update.processing_seconds.max
    if update.forward_timeout_seconds is not None:
        changes["forward_timeout_s"] = update.forward_timeout_seconds
    if update.download_link_ttl_seconds is not None:
        changes["download_link_ttl_s"] = update.download_link_ttl_seconds
    state.config.update(**changes)
    return config_public(state.config)


@router.get("/stats", response_model=StatsPublic)
async def get_stats(state: State) -> StatsPublic:
    """Counters since the last reset."""
    return stats_public(state.stats)


@router.get("/tasks", response_model=TasksPublic)
async def list_tasks(state: State) -> TasksPublic:
    """Every RemoveSora task, oldest first, with when it becomes ready and its outcome."""
    now = datetime.now(UTC)
    return TasksPublic(data=[TaskInfo.from_task(t, now=now) for t in state.tasks.values()])


@router.get("/mail", response_model=MailsPublic)
async def list_mail(state: State, to: str | None = None) -> MailsPublic:
    """Mails the SMTP sink received, newest first; `to` keeps those to one address."""
    return MailsPublic(data=[MailPublic.from_mail(m) for m in state.mailbox.list(to=to)])


@router.post("/reset", status_code=204)
async def reset(state: State, body: ResetRequest | None = None) -> Response:
    """Clear counters and tasks; keep the keys or take the ones given."""
    body = body or ResetRequest()
    state.reset(
        keys=body.keys,
        request_limit=body.request_limit,
        concurrency_limit=body.concurrency_limit,
        keep_config=body.keep_config,
        seed=body.seed,
    )
    return Response(status_code=204)


def config_public(config: SimConfig) -> ConfigPublic:
    return ConfigPublic(
        proxy_latency_ms=config.proxy_latency_ms,
        proxy_failure_rate=config.proxy_failure_rate,
        fail_next_requests=config.fail_next_requests,
        processing_seconds=ProcessingSeconds(
            min=config.processing_min_s, max=config.processing_max_s
        ),
        task_failure_rate=config.task_failure_rate,
        removesora_latency_ms=config.removesora_latency_ms,
        forward_timeout_seconds=config.forward_timeout_s,
        download_link_ttl_seconds=config.download_link_ttl_s,
        kie_latency_ms=config.kie_latency_ms,
        kie_failure_rate=config.kie_failure_rate,
        kie_callbacks=config.kie_callbacks,
    )


def stats_public(stats: SimStats) -> StatsPublic:
    return StatsPublic(
        requests_by_key={
            key: KeyStatsPublic(
                charged=s.charged,
                failed=s.failed,
                statuses={str(code): n for code, n in sorted(s.statuses.items())},
            )
            for key, s in stats.by_key.items()
        },
        served_401=stats.served[401],
        served_403=stats.served[403],
        served_429=stats.served[429],
        served_500=stats.served[500],
        served_by_status={str(code): n for code, n in sorted(stats.served.items())},
        tasks_created=stats.tasks_created,
        tasks_by_video_url=dict(stats.tasks_by_video_url),
        task_polls=stats.polls,
        max_concurrent_by_key={k: s.max_concurrent for k, s in stats.by_key.items()},
        kie_served_by_status={str(code): n for code, n in sorted(stats.kie_served.items())},
        kie_tasks_created=stats.kie_tasks_created,
        kie_polls=stats.kie_polls,
        kie_callbacks_sent=stats.kie_callbacks_sent,
    )
