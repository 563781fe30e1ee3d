"""The soak's fault schedule and its by-link second-task audit (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from git44_sim.models import TaskInfo
from tests.soak.audit import second_tasks
from tests.soak.faults import OTHER_KINDS, PROCESS_KINDS, draw_schedule

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def task(task_id: str, link: str, created: float) -> TaskInfo:
    at = T0 + timedelta(seconds=created)
    return TaskInfo(
        task_id=task_id, video_url=link, created_at=at, ready_at=at, outcome="success",
        status="success", polls=1,
    )  # fmt: skip


@pytest.mark.parametrize(("seed", "minutes"), [(4418, 10), (2026, 60), (7, 2.5)])
def test_every_kind_happens_and_restarts_fall_in_the_first_half(seed: int, minutes: float) -> None:
    end = minutes * 60
    schedule = draw_schedule(seed, start=45, end=end)
    assert {f.kind for f in schedule} == set(PROCESS_KINDS) | set(OTHER_KINDS)
    middle = 45 + (end - 45) / 2
    late_restarts = [f for f in schedule if f.kind in PROCESS_KINDS and f.at > middle]
    assert late_restarts == []
    assert all(45 <= f.at <= end for f in schedule)
    assert [f.at for f in schedule] == sorted(f.at for f in schedule)


def test_a_seed_gives_the_same_schedule_again() -> None:
    first = draw_schedule(4418, start=45, end=600)
    assert first == draw_schedule(4418, start=45, end=600)
    assert first != draw_schedule(4419, start=45, end=600)


def test_an_hour_has_about_one_fault_every_40_seconds() -> None:
    assert len(draw_schedule(1, start=45, end=3600)) == round((3600 - 45) / 40)


def test_a_task_created_while_a_stored_task_of_its_link_was_live_is_a_second_task() -> None:
    link = "https://sora.chatgpt.com/p/s_1"
    attempt = {"task_id": "t1", "ended_at": T0 + timedelta(seconds=30)}
    # two jobs of one link: the second shared the first one's task (single-flight)
    docs = [
        {"_id": "a", "input_link": link, "status": "success", "attempts": [attempt]},
        {"_id": "b", "input_link": link, "status": "success", "attempts": []},
    ]
    inside = [task("t1", link, 0), task("t2", link, 10)]
    assert second_tasks(docs, inside) == ([f"{link} task t2"], 1)
    after = [task("t1", link, 0), task("t3", link, 40)]
    assert second_tasks(docs, after) == ([], 1)  # an orphan after the attempt ended


def test_an_orphan_before_the_stored_task_is_the_gap_adr_0004_accepts() -> None:
    link = "https://sora.chatgpt.com/p/s_2"
    docs = [{"_id": "a", "input_link": link, "status": "polling", "task_id": "t2", "attempts": []}]
    assert second_tasks(docs, [task("t1", link, 0), task("t2", link, 5)]) == ([], 1)
