"""The one task runner: UI-thread delivery, newest wins, cancel and stop, progress, errors, no hang at quit."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.core.errors import DatasetError


@pytest.fixture
def runner(qtbot: Any) -> Any:
    from gui.app import create_application
    from gui.tasks import TaskRunner

    create_application([])
    tasks = TaskRunner()
    yield tasks
    tasks.shutdown(wait_lanes=("engine", "io", "training"), timeout=10)


def test_results_arrive_on_the_ui_thread(runner, qtbot) -> None:
    got: list[Any] = []
    ui = threading.get_ident()

    def work(task: Any, x: int) -> tuple[int, int]:
        return x * 2, threading.get_ident()

    runner.slot("double", "io").start(work, 21, on_result=lambda value: got.append((value, threading.get_ident())))
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    (value, worker), delivered_on = got[0]
    assert value == 42 and worker != ui and delivered_on == ui


def test_newest_request_supersedes_the_older_one(runner, qtbot) -> None:
    release = threading.Event()
    results: list[str] = []
    slot = runner.slot("newest", "io")

    def slow(task: Any, name: str) -> str:
        release.wait(5)
        return name

    first = slot.start(slow, "first", on_result=results.append)
    second = slot.start(slow, "second", on_result=results.append)
    assert first.cancelled and first.abandoned and not second.cancelled
    release.set()
    qtbot.waitUntil(lambda: runner.idle, timeout=5000)  # both tasks done: nothing more can arrive
    assert results == ["second"]


def test_cancelled_work_stops_and_delivers_nothing(runner, qtbot) -> None:
    started, finished = threading.Event(), threading.Event()
    got: list[Any] = []
    slot = runner.slot("loop", "io")

    def loop(task: Any) -> str:
        started.set()
        while True:
            try:
                task.check()
            except Exception:
                finished.set()
                raise
            threading.Event().wait(0.005)

    slot.start(loop, on_result=got.append, on_error=got.append)
    assert started.wait(5)
    slot.cancel()
    assert finished.wait(5)
    qtbot.waitUntil(lambda: runner.idle, timeout=5000)
    assert got == [] and not slot.busy


def test_stop_lets_the_result_through(runner, qtbot) -> None:
    """Stop is what the Stop button does: the work ends early and its result (the saved run) arrives."""
    started = threading.Event()
    got: list[Any] = []
    slot = runner.slot("train-like", "training")

    def work(task: Any) -> str:
        started.set()
        task.cancel_token._event.wait(5)
        return "stopped and saved" if task.cancelled else "ran out"

    slot.start(work, on_result=got.append)
    assert started.wait(5)
    slot.stop()
    qtbot.waitUntil(lambda: got == ["stopped and saved"], timeout=5000)


def test_progress_reports_arrive_in_order_before_the_result(runner, qtbot) -> None:
    seen: list[Any] = []

    def work(task: Any) -> str:
        for i in range(50):
            task.report(i)
        return "done"

    runner.slot("progress", "io").start(work, on_progress=seen.append, on_result=seen.append)
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] == "done", timeout=5000)
    assert seen == list(range(50)) + ["done"]


def test_errors_come_back_with_details_for_unexpected_ones(runner, qtbot) -> None:
    errors: list[BaseException] = []

    def readable(task: Any) -> None:
        raise DatasetError("folder not found: /nowhere")

    def bug(task: Any) -> None:
        return {}["missing"]

    slot = runner.slot("errors", "io", newest_only=False)
    slot.start(readable, on_error=errors.append)
    slot.start(bug, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=5000)
    readable_error, bug_error = sorted(errors, key=lambda e: type(e).__name__)
    assert isinstance(readable_error, DatasetError) and not hasattr(readable_error, "details")
    assert isinstance(bug_error, KeyError) and "Traceback" in bug_error.details and "in bug" in bug_error.details


def test_side_by_side_slot_runs_every_task(runner, qtbot) -> None:
    got: list[int] = []
    slot = runner.slot("many", "io", newest_only=False)
    for i in range(20):
        slot.start(lambda task, n: n, i, on_result=got.append)
    qtbot.waitUntil(lambda: len(got) == 20, timeout=5000)
    assert sorted(got) == list(range(20))


def test_debounce_calls_once_per_burst(runner, qtbot) -> None:
    calls: list[int] = []
    for i in range(10):
        runner.debounce("burst", 30, lambda i=i: calls.append(i))
    qtbot.waitUntil(lambda: runner.idle, timeout=2000)  # the burst's timer has fired
    assert calls == [9]


def test_shutdown_never_waits_for_a_read_that_blocks(runner, qtbot, tmp_path: Path) -> None:
    """A worker stuck reading a named pipe must not keep the window from closing."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    entered = threading.Event()

    def read_pipe(task: Any) -> bytes:
        entered.set()
        with open(fifo, "rb") as f:  # blocks until a writer appears: never
            return f.read()

    runner.slot("stuck", "io").start(read_pipe)
    assert entered.wait(5)
    t0 = time.monotonic()
    runner.shutdown(wait_lanes=("training", "engine"), timeout=5)
    assert time.monotonic() - t0 < 2, "shutdown waited for the blocked io lane"
    with open(fifo, "wb"):  # let the stuck reader go so the test leaves no thread behind
        pass
