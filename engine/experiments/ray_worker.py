"""What runs on a Ray worker for a grid: one run trained exactly as `train()` trains it, its events sent
home as they come, its folder sent home whole at the end. Also the grid's `Channel`, the small actor
through which the workers' events reach this machine and Stop reaches the workers.

Nothing here needs a file system shared with this machine: the run trains in a scratch folder of
the worker's own, named as its folder here will be (so the events already name that folder), and
comes back packed (engine.experiments.run_transfer). The data arrives as `DataDelivery` says: by
name or by path (the worker loads it itself), or as the bytes of an .npz file through Ray's
object store.

Imported on the workers by reference, so it imports nothing from Ray at module level; the
trainer (TensorFlow) is imported inside the function that trains.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import LayerLabError
from engine.core.events import Event, Failed
from engine.core.memory import MemoryBudget
from engine.core.records import RunMetrics
from engine.datasets import load_dataset
from engine.experiments.run_transfer import pack_run

Message = tuple[str, int, str, Any]  # (kind "begin" | "event", run index, attempt token, payload)


class Channel:
    """The grid's mailbox, a Ray actor: workers put messages and learn whether to stop; this
    machine takes the messages. Calls from one worker are handled in the order it made them."""

    def __init__(self) -> None:
        self._messages: list[Message] = []
        self._stop = False

    def put(self, messages: list[Message]) -> bool:
        """Keep `messages`; True once the grid was stopped."""
        self._messages.extend(messages)
        return self._stop

    def take(self) -> list[Message]:
        messages, self._messages = self._messages, []
        return messages

    def stop(self) -> None:
        self._stop = True


@dataclass(frozen=True)
class DataDelivery:
    """How a run's data reaches the worker."""

    how: Literal["name", "path", "object"]
    file_name: str = ""  # "object": the .npz file's name (its bytes are the task's `data` argument)


@dataclass(frozen=True)
class RemoteRun:
    """One run for a worker: its config and the name of its folder at home."""

    index: int
    config: dict[str, Any]
    run_name: str
    home_run_dir: str  # the events name this folder, where the run will be once home
    threads: int  # TensorFlow's threads for this run
    memory_budget: int  # bytes its caches may hold
    data: DataDelivery


@dataclass(frozen=True)
class RemoteResult:
    status: Literal["done", "cancelled", "failed", "not_started"]
    reason: str | None = None
    metrics: RunMetrics = dataclasses.field(default_factory=RunMetrics)
    folder: bytes | None = None  # the packed run folder (engine.experiments.run_transfer)


def train_on_worker(run: RemoteRun, channel: Any, data: bytes | None = None) -> RemoteResult:
    """The Ray task of one run (see the module docstring). Never raises for a training fault:
    like `train`, a failure comes back as a failed run; only a lost worker fails the task."""
    link = _Link(channel, run.index)
    try:
        if link.stopped_before_start():
            return RemoteResult("not_started")
        link.send("begin", (socket.gethostname(), os.getpid()))
        _limit_threads(run.threads)
        with tempfile.TemporaryDirectory(prefix="layerlab-run-") as scratch:
            return _train(run, link, Path(scratch), data)
    finally:
        link.close()


def _train(run: RemoteRun, link: _Link, scratch: Path, data: bytes | None) -> RemoteResult:
    # TensorFlow: imported here, so importing this module stays cheap
    from engine.training.trainer import train

    config = ExperimentConfig.from_dict(run.config)
    budget = MemoryBudget(run.memory_budget)
    run_dir = scratch / "runs" / run.run_name
    observer = _HomePaths(link, str(run_dir), run.home_run_dir)
    try:
        dataset = _dataset(run, config, data, scratch, budget)
    except LayerLabError as err:
        observer.failed(str(err))
        return RemoteResult("failed", str(err), RunMetrics.failure(str(err), "data", 0))
    result = train(config, observer, link.cancel, dataset=dataset, run_dir=run_dir, memory_budget=budget)
    status = "cancelled" if result.cancelled else "failed" if result.failed else "done"
    folder = pack_run(run_dir) if run_dir.is_dir() else None
    return RemoteResult(status, result.failed, result.metrics, folder)


def _dataset(run: RemoteRun, config: ExperimentConfig, data: bytes | None, scratch: Path, budget: MemoryBudget) -> Any:
    """The run's dataset when it must be made here (None: `train` loads it by name or path)."""
    options = config.data
    if run.data.how == "path":
        path = Path(options.name.partition(":")[2]).expanduser()
        if not path.exists():
            raise LayerLabError(
                f"the data {options.name} is not on the cluster machine {socket.gethostname()}: "
                "make it reachable at the same path on every machine of the cluster"
            )
    if run.data.how != "object" or data is None:
        return None
    copy = scratch / "data" / run.data.file_name
    copy.parent.mkdir(parents=True)
    copy.write_bytes(data)
    dataset = load_dataset(options.model_copy(update={"name": f"npz:{copy}"}), seed=config.training.seed, budget=budget)
    dataset.name = options.name  # the run records the data it was given, not the worker's copy
    return dataset


def _limit_threads(threads: int) -> None:
    """TensorFlow's thread pools sized for this run's share of the machine (several runs share it)."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(max(1, min(2, threads)))
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    except RuntimeError:  # this worker already ran one: its pools are set (to the same share)
        pass


class _Link:
    """This worker's side of the `Channel`: messages batched and sent every `FLUSH_S` by a thread,
    which also learns of a Stop and sets `cancel` (the trainer stops within a batch)."""

    FLUSH_S = 0.25

    def __init__(self, channel: Any, index: int) -> None:
        self.channel, self.index = channel, index
        self.token = uuid.uuid4().hex  # tells this attempt's messages from a lost worker's
        self.cancel = CancelToken()
        self._pending: list[Message] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def stopped_before_start(self) -> bool:
        self._flush()
        if not self.cancel.cancelled:
            self._thread = threading.Thread(target=self._loop, name="layerlab-grid-link", daemon=True)
            self._thread.start()
        return self.cancel.cancelled

    def send(self, kind: str, payload: Any) -> None:
        with self._lock:
            self._pending.append((kind, self.index, self.token, payload))

    def close(self) -> None:
        """Send what is left, and wait until the channel has it (before the task's result)."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join()
        self._flush()

    def _loop(self) -> None:
        while not self._closed.wait(self.FLUSH_S):
            self._flush()

    def _flush(self) -> None:
        import ray  # on a worker, Ray is there

        with self._lock:
            batch, self._pending = self._pending, []
        if ray.get(self.channel.put.remote(batch)):
            self.cancel.cancel()


class _HomePaths:
    """The observer of the run on the worker: each event sent home, naming the run's folder as it
    will be at home (not the worker's scratch folder)."""

    def __init__(self, link: _Link, here: str, home: str) -> None:
        self.link, self.here, self.home = link, here, home

    def __call__(self, event: Event) -> None:
        changes = {
            f.name: self.home + value[len(self.here) :]
            for f in dataclasses.fields(event)  # type: ignore[arg-type]
            if f.name in ("run_dir", "path")
            and isinstance(value := getattr(event, f.name), str)
            and value.startswith(self.here)
        }
        self.link.send("event", dataclasses.replace(event, **changes) if changes else event)  # type: ignore[type-var]

    def failed(self, reason: str) -> None:
        self.link.send("event", Failed(reason, "data", ""))
