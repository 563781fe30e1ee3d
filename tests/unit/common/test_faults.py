"""Test-only fault points: armed only under GIT44_ENV=test, and an armed point kills."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from pydantic import ValidationError

from git44_common.faults import parse_fault_points
from git44_common.settings import ServiceSettings

KILL_AT_POINT = """
from git44_common.faults import arm_fault_points, fault_point
arm_fault_points({spec!r})
fault_point("worker.after_task_created")
print("passed the point")
"""


def run_point(spec: str) -> subprocess.CompletedProcess[str]:
    code = KILL_AT_POINT.format(spec=spec)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)


def test_a_spec_names_points_and_their_probabilities() -> None:
    spec = "jobs.after_commit=0.05, worker.after_task_created"
    assert parse_fault_points(spec) == {"jobs.after_commit": 0.05, "worker.after_task_created": 1.0}
    assert parse_fault_points("") == {}


@pytest.mark.parametrize("spec", ["jobs.nowhere=0.1", "jobs.after_commit=0", "jobs.after_commit=2"])
def test_an_unknown_point_or_a_probability_outside_0_1_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="fault point"):
        parse_fault_points(spec)


@pytest.mark.parametrize("environment", ["production", "development"])
def test_fault_points_are_refused_outside_tests(environment: str) -> None:
    with pytest.raises(ValidationError, match="GIT44_FAULT_POINTS is for tests only"):
        ServiceSettings(environment=environment, fault_points="jobs.after_commit=0.1")


def test_fault_points_are_read_from_the_shared_variable_under_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GIT44_ENV", "test")
    monkeypatch.setenv("GIT44_FAULT_POINTS", "jobs.after_commit=0.25")
    assert ServiceSettings().fault_points == "jobs.after_commit=0.25"
    monkeypatch.setenv("GIT44_FAULT_POINTS", "jobs.typo=0.25")
    with pytest.raises(ValidationError, match="unknown fault point"):
        ServiceSettings()


def test_an_armed_point_kills_the_process_with_sigkill() -> None:
    killed = run_point("worker.after_task_created=1")
    assert killed.returncode == -signal.SIGKILL
    assert "passed the point" not in killed.stdout


def test_an_unarmed_point_is_passed() -> None:
    passed = run_point("jobs.after_commit=1")
    assert passed.returncode == 0, passed.stderr
    assert "passed the point" in passed.stdout
