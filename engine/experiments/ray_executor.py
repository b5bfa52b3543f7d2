"""Grids on Ray: many runs at once, each in a Ray worker process with its own TensorFlow, on this
machine (a private local Ray instance) or on a Ray cluster (`ray://HOST:PORT`, Ray Client).

How many at once: `workers` (default: one per GPU where the cluster has GPUs, else one per core);
each run gets `cores // workers` CPU threads (at least 1; with `training.deterministic`, as many
as this process would use, see `_threads`), one GPU where there are GPUs (a share of
one when there are more runs than GPUs), and Ray's `memory` for the grid's memory budget, so Ray
starts no more runs on a machine than its memory holds. The expected speed-up over this process is
min(cores / threads per run, GPUs or runs) (docs/benchmarks.md).

What travels: to the workers each run's config, the name of its home folder and its data as
`ray_worker.DataDelivery` says (built-in and Keras data by name; a file or folder by path on this
machine's own Ray instance, or on a cluster where the path exists there; an .npz file up to
`OBJECT_STORE_LIMIT` through Ray's object store; anything else is refused before a run starts,
in one line). On a cluster, LayerLab's engine code travels too (Ray's `py_modules`), so the
cluster needs only LayerLab's dependencies. Back: every event, and each run's folder, whole.

Stop tells the workers through the grid's channel: each run in flight stops within a batch and
comes home as a stopped run, as in this process; the runs not begun are cancelled. A worker that
dies mid-run (killed, out of memory) is retried once by Ray; a second loss makes the run a failed
one, and the grid goes on.

Ray is imported here only when a grid runs (an optional extra: `pip install 'layerlab[ray]'`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.cancel import CancelToken
from engine.core.errors import ConfigError, LayerLabError, RunError
from engine.core.files import format_bytes, printable_path, read_regular_file
from engine.core.memory import MemoryBudget
from engine.core.records import RunMetrics
from engine.experiments.executors import RAY_EXTRA_HINT, RunJob, RunOutcome, RunReport, Worker
from engine.experiments.ray_worker import Channel, DataDelivery, RemoteResult, RemoteRun, train_on_worker
from engine.experiments.run_transfer import unpack_run
from engine.runs.folders import new_run_dir

OBJECT_STORE_LIMIT = 512 * 2**20  # an .npz file up to this size travels to a cluster through the object store
LOOPBACK = "127.0.0.1"
POLL_S = 0.1  # how often the events are fetched from the channel
ENGINE_CODE = Path(__file__).resolve().parents[1]  # the `engine` package, sent to a cluster


@dataclass(frozen=True)
class Placement:
    """How many runs at once, and what each asks Ray for."""

    workers: int
    threads: int  # CPU threads (and Ray CPUs) per run
    gpus: float  # GPUs per run (0 without GPUs)
    memory: int | None  # bytes of Ray's `memory` per run

    def describe(self) -> str:
        gpu = f", {self.gpus:g} GPU" if self.gpus else ""
        return f"{self.workers} at once, {self.threads} thread{'s' if self.threads != 1 else ''}{gpu} each"


def placement(
    cpus: float, gpus: float, workers: int | None, memory_per_run: int | None, node_cpus: float, node_memory: float
) -> Placement:
    """The placement for a cluster of `cpus` and `gpus` in all (its biggest machine: `node_cpus`,
    `node_memory`): see the module docstring."""
    cpus, gpus = max(1.0, cpus), max(0.0, gpus)
    if workers is None:
        workers = int(gpus) if gpus >= 1 else max(1, int(cpus))
    threads = max(1, min(int(cpus // workers), int(max(1.0, node_cpus))))
    per_gpu = 0.0 if gpus < 1 else min(1.0, int(gpus) / workers)
    memory = int(min(memory_per_run, node_memory)) if memory_per_run and node_memory else None
    return Placement(workers, threads, per_gpu, memory)


class RayExecutor:
    """Runs a grid on a local Ray instance (`address` None) or the Ray cluster at `address`."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address, self.workers = address, workers

    def describe(self) -> str:
        where = f"on the Ray cluster at {self.address}" if self.address else "on this machine's own Ray instance"
        return where + (f", {self.workers} runs at once" if self.workers else "")

    def run(
        self,
        jobs: Sequence[RunJob],
        report: RunReport,
        cancel: CancelToken,
        *,
        runs_root: Path | None,
        train_kwargs: dict[str, Any],
    ) -> None:
        if not jobs or cancel.cancelled:
            return
        budget = train_kwargs.get("memory_budget") or MemoryBudget.default()
        with connected(self.address) as ray:
            plan = _placement(ray, self.workers, budget.bytes)
            deliveries = _deliveries(ray, jobs, cluster=self.address is not None)
            _Dispatch(ray, plan, deliveries, report, cancel, runs_root, budget).run(jobs)


# --- connecting -----------------------------------------------------------------------------------
def import_ray() -> Any:
    # A local instance listens on the loopback interface only (no port open to the network): its
    # node address is LOOPBACK, which Ray keeps as given only with the switch it has for
    # single-machine clusters (read when Ray is imported).
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError(f"running a grid on Ray needs Ray, which is not installed: {RAY_EXTRA_HINT}") from None
    return ray


@contextlib.contextmanager
def connected(address: str | None) -> Iterator[Any]:
    """Ray, connected: to a new local instance (all this machine's cores and GPUs, no dashboard)
    or to the cluster at `address`; shut down at the end. A Ray the caller started already is
    used as it is, and left running."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        with _own_sigterm():
            _init(ray, address)
    except Exception as err:  # Ray's own errors are not one type: unreachable, version mismatch, ...
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise RunError(f"cannot start the grid on {where}: {_first_line(err)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _init(ray: Any, address: str | None) -> None:
    if address is None:
        _single_machine(ray)
        ray.init(
            address="local",
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            _node_ip_address=LOOPBACK,
        )
    else:
        ray.init(address=address, logging_level=logging.WARNING, runtime_env={"py_modules": [str(ENGINE_CODE)]})


def _single_machine(ray: Any) -> None:
    """Ray's single-machine switch on, also when Ray was imported before `import_ray` set it."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    if constants is not None and hasattr(constants, "ENABLE_RAY_CLUSTER"):
        constants.ENABLE_RAY_CLUSTER = False


@contextlib.contextmanager
def _own_sigterm() -> Iterator[None]:
    """Keep this process's SIGTERM handler: `ray.init` puts in one that exits at once, and the
    command line's handler stops the grid cleanly instead (the runs in flight saved)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _placement(ray: Any, workers: int | None, memory_per_run: int) -> Placement:
    resources = ray.cluster_resources()
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    return placement(
        resources.get("CPU", 1.0),
        resources.get("GPU", 0.0),
        workers,
        memory_per_run,
        max((node.get("CPU", 0.0) for node in nodes), default=resources.get("CPU", 1.0)),
        max((node.get("memory", 0.0) for node in nodes), default=0.0),
    )


# --- the data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Shipment:
    delivery: DataDelivery
    data: Any = None  # an ObjectRef of the file's bytes


def _deliveries(ray: Any, jobs: Sequence[RunJob], *, cluster: bool) -> dict[str, _Shipment]:
    """How each of the grid's datasets reaches the workers (see the module docstring); `ConfigError`
    before any run for data the cluster cannot get."""
    shipments: dict[str, _Shipment] = {}
    for name in dict.fromkeys(job.config.data.name for job in jobs):
        kind, _, argument = name.partition(":")
        if kind not in ("folder", "npz") or not argument:
            shipments[name] = _Shipment(DataDelivery("name"))
        elif not cluster or ray.get(ray.remote(num_cpus=0)(_exists).remote(argument)):
            shipments[name] = _Shipment(DataDelivery("path"))
        elif kind == "npz":
            path = Path(argument).expanduser()
            data = read_regular_file(path, max_bytes=OBJECT_STORE_LIMIT, error=ConfigError, what="an .npz file to send")
            shipments[name] = _Shipment(DataDelivery("object", path.name), ray.put(data))
        else:
            raise ConfigError(
                f"the folder {printable_path(argument)} is not on the cluster's machines: LayerLab sends only .npz "
                f"files (up to {format_bytes(OBJECT_STORE_LIMIT)}) through Ray; make the folder reachable at the "
                "same path on every machine of the cluster"
            )
    return shipments


def _exists(path: str) -> bool:
    return Path(path).expanduser().exists()


# --- the runs ---------------------------------------------------------------------------------------
@dataclass
class _Task:
    job: RunJob
    home: Path  # its folder here, reserved (empty) until the run comes home
    tokens: list[str] = field(default_factory=list)  # one per attempt, in order

    @property
    def begun(self) -> bool:
        return bool(self.tokens)


class _Dispatch:
    """One grid on Ray: at most `workers` runs submitted at a time, in the grid's order; their
    messages passed to the report on this thread; their folders written home as they land."""

    def __init__(
        self,
        ray: Any,
        plan: Placement,
        deliveries: dict[str, _Shipment],
        report: RunReport,
        cancel: CancelToken,
        runs_root: Path | None,
        budget: MemoryBudget,
    ) -> None:
        self.ray, self.plan, self.deliveries = ray, plan, deliveries
        self.report, self.cancel, self.runs_root, self.budget = report, cancel, runs_root, budget
        self.tasks: dict[Any, _Task] = {}  # ObjectRef -> its task
        self.by_index: dict[int, _Task] = {}
        self.stopping = False
        self.channel = ray.remote(num_cpus=0)(Channel).remote()
        options: dict[str, Any] = {"num_cpus": plan.threads, "max_retries": 1, "retry_exceptions": False}
        if plan.gpus:
            options["num_gpus"] = plan.gpus
        if plan.memory:
            options["memory"] = plan.memory
        self.remote = ray.remote(train_on_worker).options(**options)

    def run(self, jobs: Sequence[RunJob]) -> None:
        queue = deque(jobs)
        try:
            while queue or self.tasks:
                if self.cancel.cancelled and not self.stopping:
                    self._stop()
                    queue.clear()
                while queue and len(self.tasks) < self.plan.workers:
                    self._submit(queue.popleft())
                if not self.tasks:
                    break
                ready, _ = self.ray.wait(list(self.tasks), num_returns=len(self.tasks), timeout=POLL_S)
                self._pass_messages()
                for ref in ready:
                    self._land(ref)
        finally:
            for ref, task in self.tasks.items():  # only when interrupted: leave nothing running
                self.ray.cancel(ref, force=True)
                _free(task.home)
            self.ray.kill(self.channel)

    def _submit(self, job: RunJob) -> None:
        home = new_run_dir(job.config, self.runs_root)
        shipment = self.deliveries[job.config.data.name]
        run = RemoteRun(
            job.index,
            job.config.to_dict(),
            home.name,
            str(home),
            _threads(job, self.plan),
            self.budget.bytes,
            shipment.delivery,
        )
        task = _Task(job, home)
        self.tasks[self.remote.remote(run, self.channel, shipment.data)] = task
        self.by_index[job.index] = task

    def _stop(self) -> None:
        """Stop: the runs in flight stop within a batch (and come home); the others are cancelled."""
        self.stopping = True
        self.channel.stop.remote()
        for ref, task in self.tasks.items():
            if not task.begun:
                self.ray.cancel(ref)

    def _pass_messages(self) -> None:
        for kind, index, token, payload in self.ray.get(self.channel.take.remote()):
            task = self.by_index.get(index)
            if task is None:
                continue
            if kind == "begin" and token not in task.tokens:
                task.tokens.append(token)
                host, pid = payload
                self.report.begun(task.job, Worker(host, pid, len(task.tokens)))
            elif kind == "event" and task.tokens and token == task.tokens[-1]:
                self.report.event(task.job, payload)

    def _land(self, ref: Any) -> None:
        """A task ended: its run home (or its failure told), or nothing when it never began."""
        task = self.tasks.pop(ref)
        try:
            result: RemoteResult = self.ray.get(ref)
        except self.ray.exceptions.TaskCancelledError:
            result = RemoteResult("cancelled" if task.begun else "not_started", "stopped")
        except self.ray.exceptions.RayError as err:
            result = RemoteResult("failed", _lost_reason(self.ray, err))
        if result.status == "not_started":
            _free(task.home)
            return
        run_dir = None
        if result.folder is not None:
            try:
                run_dir = unpack_run(result.folder, task.home)
            except (LayerLabError, OSError) as err:
                result = RemoteResult("failed", f"the run could not be written home: {err}", result.metrics)
        if run_dir is None:
            _free(task.home)
        metrics = result.metrics
        if result.status == "failed" and metrics.failed is None:
            metrics = RunMetrics.failure(result.reason or "the run failed", "error", 0)
        self.report.ended(task.job, RunOutcome(result.status, run_dir, metrics, result.reason))


def _threads(job: RunJob, plan: Placement) -> int:
    """TensorFlow's threads for a run: its share of the machine; with `training.deterministic`, as
    many as this process would use (TensorFlow's sums depend on how many threads share them, so
    this is what makes the run's numbers match this process's to the last digit)."""
    if not job.config.training.deterministic:
        return plan.threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _lost_reason(ray: Any, err: Exception) -> str:
    if isinstance(err, ray.exceptions.OutOfMemoryError):
        return "its Ray worker ran out of memory, twice (fewer runs at once, --workers, leave each more)"
    if isinstance(err, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError):
        return "its Ray worker died mid-run, twice (killed, or out of memory)"
    if isinstance(err, ray.exceptions.RayTaskError):
        return f"it failed on its Ray worker: {_first_line(err.cause if err.cause is not None else err)}"
    return f"Ray lost it: {_first_line(err)}"


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


def _free(folder: Path) -> None:
    """Give back a reserved run folder that stayed empty."""
    with contextlib.suppress(OSError):
        folder.rmdir()
