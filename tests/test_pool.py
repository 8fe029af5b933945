"""The worker pool with a deadline per task, under both start methods: fork (Linux) and
spawn (what Windows has). Hangs are caught by the pool's own deadline, never by timing the test."""

from __future__ import annotations

import multiprocessing

import pytest

from pool_tasks import behave
from tianbao.stages.pool import START_METHOD_VARIABLE, Failed, TimedPool

METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


@pytest.fixture(params=METHODS)
def start_method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(START_METHOD_VARIABLE, request.param)
    return request.param


def test_results_come_back_for_every_item(start_method: str) -> None:
    items = [f"file{i}" for i in range(7)]
    done = dict(TimedPool(behave, 2, 60).run(items))
    assert done == {item: item.upper() for item in items}


def test_a_hanging_or_crashing_task_is_reported_and_the_rest_go_on(start_method: str) -> None:
    items = ["a", "hang", "b", "crash", "c"]
    done = dict(TimedPool(behave, 2, 2).run(items))
    assert done == {"a": "A", "hang": Failed("timeout"), "b": "B", "crash": Failed("crash"), "c": "C"}


@pytest.mark.slow
def test_the_deadline_starts_when_the_worker_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    # A spawned worker first imports (here: 3 s); a deadline of 1 s must still leave every
    # quick task its full time.
    monkeypatch.setenv(START_METHOD_VARIABLE, "spawn")
    monkeypatch.setenv("POOL_TASKS_IMPORT_SECONDS", "3")
    items = [f"quick{i}" for i in range(4)]
    assert dict(TimedPool(behave, 2, 1).run(items)) == {item: item.upper() for item in items}
