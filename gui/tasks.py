"""The one task runner: every piece of background work in the window goes through here.

Ideas taken from Orange's concurrent task slots: work is started in a named *slot*; starting a
new task in a slot that keeps only the newest one supersedes (cancels) the task before it; the
work receives a `Task` handle to check for cancellation and to report progress or partial
results; results, errors and progress come back on the UI thread, and never for a task that was
superseded or cancelled meanwhile.

Work runs on *lanes*: named groups of daemon threads that take tasks in order.
- "startup": importing TensorFlow (seconds; nobody waits for it at close);
- "engine": one thread, so TensorFlow work (building models, classifying, loading models) never
  races with itself;
- "io": a few threads for file work (datasets, run folders, thumbnails) that must not wait
  behind a model build;
- "training": one thread for the long training task;
- "monitor": one thread for quick polls (GPU memory) that must never wait behind anything.
Daemon threads mean quitting never hangs on a worker stuck in a read; the training lane is the
only one the window waits for at close (the engine saves the run within one batch of a Stop).
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine import CancelToken, LayerLabError

log = logging.getLogger(__name__)

Callback = Callable[[Any], None] | None

#: Lane name → number of threads.
LANES = {"startup": 1, "engine": 1, "io": 2, "training": 1, "monitor": 1}


class Task:
    """The handle the work receives: cancellation, progress reports and partial results."""

    def __init__(self, runner: TaskRunner, slot: TaskSlot, on_progress: Callback) -> None:
        self._runner = runner
        self._slot = slot
        self._on_progress = on_progress
        self.cancel_token = CancelToken()  # pass it to engine calls that take one (train, extract)
        self.abandoned = False  # superseded or cancelled: nothing more is delivered

    @property
    def cancelled(self) -> bool:
        """Whether the work should stop (asked to, or abandoned)."""
        return self.cancel_token.cancelled

    def stop(self) -> None:
        """Ask the work to stop early; what it returns is still delivered (a stopped training's run)."""
        self.cancel_token.cancel()

    def cancel(self) -> None:
        """Stop the work and drop whatever it would still deliver."""
        self.abandoned = True
        self.cancel_token.cancel()

    def report(self, value: Any) -> None:
        """Deliver `value` (progress, an event, a partial result) to `on_progress` on the UI thread."""
        if self._on_progress is not None and not self.abandoned:
            self._runner._post(self, self._on_progress, value, final=False)

    def check(self) -> None:
        """Raise `TaskCancelled` when the task was cancelled (for loops in the work)."""
        if self.cancelled:
            raise TaskCancelled()


class TaskCancelled(Exception):
    """Raised by work that noticed its cancellation; nothing is delivered for it."""


@dataclass
class _Job:
    task: Task
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    on_result: Callback
    on_error: Callback


class _Lane:
    """Daemon threads taking jobs from one queue, in order."""

    def __init__(self, name: str, threads: int, runner: TaskRunner) -> None:
        self.name = name
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._runner = runner
        self._threads = [
            threading.Thread(target=self._loop, name=f"layerlab-{name}-{i}", daemon=True) for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, job: _Job) -> None:
        self._queue.put(job)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)

    def join(self, timeout: float) -> bool:
        for thread in self._threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._run(job)

    def _run(self, job: _Job) -> None:
        task = job.task
        if task.abandoned:
            self._runner._post(task, None, None, final=True)  # still counted as done (`TaskRunner.idle`)
            return
        try:
            value = job.fn(task, *job.args)
        except TaskCancelled:
            self._runner._post(task, None, None, final=True)
        except BaseException as err:  # reported on the UI thread, never lost in a worker
            if not isinstance(err, LayerLabError):
                err.details = traceback.format_exc()  # type: ignore[attr-defined]
                log.error("background task %s failed:\n%s", getattr(job.fn, "__name__", job.fn), err.details)
            self._runner._post(task, job.on_error, err, final=True)
        else:
            self._runner._post(task, job.on_result, value, final=True)


class TaskSlot:
    """A named place for background work.

    With `newest_only` (the default) at most one task is live: `start` cancels the previous one,
    and its result is dropped even if it was already computed. Without it, tasks run side by
    side (images to classify, thumbnails to decode) and `cancel` drops them all.
    """

    def __init__(self, runner: TaskRunner, name: str, lane: str, newest_only: bool) -> None:
        self.runner = runner
        self.name = name
        self.lane = lane
        self.newest_only = newest_only
        self._live: list[Task] = []

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_result: Callback = None,
        on_error: Callback = None,
        on_progress: Callback = None,
    ) -> Task:
        """Run `fn(task, *args)` on this slot's lane; callbacks run on the UI thread."""
        if self.newest_only:
            self.cancel()
        task = Task(self.runner, self, on_progress)
        self._live.append(task)
        self.runner._submit(self.lane, _Job(task, fn, args, on_result, on_error))
        return task

    def cancel(self) -> None:
        """Cancel every live task of the slot: nothing more is delivered for them."""
        for task in self._live:
            task.cancel()
        self._live.clear()

    def stop(self) -> None:
        """Ask every live task to stop early; their results are still delivered."""
        for task in self._live:
            task.stop()

    @property
    def busy(self) -> bool:
        """Whether a task of this slot is queued, running, or has a result not yet delivered."""
        return bool(self._live)

    def _finished(self, task: Task) -> None:
        if task in self._live:
            self._live.remove(task)


class TaskRunner(QObject):
    """Owns the lanes and the slots of one window; delivers on the thread it was created on."""

    # One (task, callback, value) tuple per delivery, queued from the worker threads.
    _deliver = Signal(object)

    def __init__(self, parent: QObject | None = None, lanes: dict[str, int] | None = None) -> None:
        super().__init__(parent)
        self._lanes = {name: _Lane(name, n, self) for name, n in (lanes or LANES).items()}
        self._slots: dict[str, TaskSlot] = {}
        self._closed = False
        self._timers: dict[str, QTimer] = {}  # debounce timers
        self._debounced: dict[str, Callable[[], None]] = {}
        self._repeats: dict[str, QTimer] = {}
        self._outstanding = 0  # jobs submitted whose last delivery has not come back (UI thread only)
        self._deliver.connect(self._on_deliver)

    def slot(self, name: str, lane: str, *, newest_only: bool = True) -> TaskSlot:
        """The slot `name` (created on first use)."""
        if lane not in self._lanes:
            raise ValueError(f"unknown lane {lane!r}: {', '.join(self._lanes)}")
        if name not in self._slots:
            self._slots[name] = TaskSlot(self, name, lane, newest_only)
        return self._slots[name]

    def debounce(self, name: str, milliseconds: int, fn: Callable[[], None]) -> None:
        """Call `fn` once, `milliseconds` after the last of a burst of calls with this `name`."""
        self._debounced[name] = fn
        timer = self._timers.get(name)
        if timer is None:
            timer = self._timers[name] = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self._debounced[name]())
        timer.setInterval(milliseconds)
        timer.start()

    def repeat(self, name: str, milliseconds: int, fn: Callable[[], None]) -> None:
        """Call `fn` every `milliseconds` on the UI thread until `stop_repeat(name)`."""
        self.stop_repeat(name)
        timer = self._repeats[name] = QTimer(self)
        timer.setInterval(milliseconds)
        timer.timeout.connect(fn)
        timer.start()

    def stop_repeat(self, name: str) -> None:
        timer = self._repeats.pop(name, None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()

    def cancel_all(self) -> None:
        for slot in self._slots.values():
            slot.cancel()
        for timer in (*self._timers.values(), *self._repeats.values()):
            timer.stop()

    def shutdown(self, wait_lanes: tuple[str, ...] = ("training",), timeout: float = 60.0) -> None:
        """Cancel everything, stop the lanes and wait (bounded) for those in `wait_lanes`."""
        self.cancel_all()
        self._closed = True
        for lane in self._lanes.values():
            lane.stop()
        for name in wait_lanes:
            if name in self._lanes and not self._lanes[name].join(timeout):
                log.warning("the %s lane did not finish within %.0f s", name, timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def idle(self) -> bool:
        """No job queued or running on any lane, every result delivered, no debounced call
        pending: what a test waits for (`qtbot.waitUntil(lambda: runner.idle)`) instead of a
        fixed wait."""
        return self._outstanding == 0 and not any(timer.isActive() for timer in self._timers.values())

    # --- internals ---------------------------------------------------------------------------------
    def _submit(self, lane: str, job: _Job) -> None:
        if self._closed:
            job.task.cancel()
            job.task._slot._finished(job.task)
            return
        self._outstanding += 1
        self._lanes[lane].put(job)

    def _post(self, task: Task, callback: Callback, value: Any, final: bool) -> None:
        """Called from a worker thread: queue the delivery to the UI thread (`final`: the task's last)."""
        if self._closed:
            return
        try:
            self._deliver.emit((task, callback, value, final))
        except RuntimeError:  # the window closed meanwhile and took the runner with it
            pass

    def _on_deliver(self, delivery: tuple[Task, Callback, Any, bool]) -> None:
        task, callback, value, final = delivery
        if final:
            self._outstanding -= 1
            task._slot._finished(task)
        if self._closed or task.abandoned or callback is None:
            return
        callback(value)
