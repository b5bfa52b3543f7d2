"""Where a grid's runs train: in this process (the default), on a local Ray instance, or on a Ray cluster.

An executor takes the runs a grid still lacks and trains each exactly as `train()` does, telling
the grid runner (engine.experiments.grid_runner) through a `RunReport` when a run begins, every
event it emits, and how it ended, always on the thread that called `run_grid`. The runner records
the runs in grid.json and computes the rows, so the statistics are the same whatever the executor.

- `InProcess`: one run after another in this process (the Keras session cleared between them).
- `RayExecutor` (engine.experiments.ray_executor): many runs at once, each in a Ray worker process
  with its own TensorFlow, on this machine (`address=None`: a private local instance) or on a
  cluster (`ray://HOST:PORT`). Each run's folder comes home whole. Ray is an optional extra.

`grid_executor("local" | "ray" | "ray://HOST:PORT", workers)` (engine.experiments.executor_choice)
makes one from the words of the command line and the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import LayerLabError
from engine.core.events import Event
from engine.core.records import RunMetrics
from engine.datasets import load_dataset
from engine.runtime.collection import release_keras_state

RAY_EXTRA_HINT = "install the ray extra: pip install 'layerlab[ray]' (or pip install -e '.[ray]' in a checkout)"


@dataclass(frozen=True)
class RunJob:
    """One run of the grid to train: its place in the grid and its config."""

    index: int  # 0-based among all cells × repeats, in the grid's order
    total: int
    cell: int
    repeat: int
    settings: dict[str, Any]
    config: ExperimentConfig


RunStatus = Literal["done", "cancelled", "failed"]


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended; its folder (when it has one) is on this machine by now."""

    status: RunStatus
    run_dir: Path | None
    metrics: RunMetrics = field(default_factory=RunMetrics)
    reason: str | None = None  # why it failed


@dataclass(frozen=True)
class Worker:
    """Where a run trains: the machine and process (this process for the in-process executor)."""

    host: str = ""
    pid: int | None = None
    attempt: int = 1  # 2: the first worker was lost and the run started again

    def describe(self) -> str:
        return f"{self.host} (pid {self.pid})" if self.host else "this process"


class RunReport(Protocol):
    """What an executor tells the grid runner, always on the runner's thread."""

    def begun(self, job: RunJob, worker: Worker) -> None: ...
    def event(self, job: RunJob, event: Event) -> None: ...
    def ended(self, job: RunJob, outcome: RunOutcome) -> None: ...


class Executor(Protocol):
    def describe(self) -> str: ...

    def run(
        self,
        jobs: Sequence[RunJob],
        report: RunReport,
        cancel: CancelToken,
        *,
        runs_root: Path | None,
        train_kwargs: dict[str, Any],
    ) -> None:
        """Train `jobs` (in their order where it can), reporting each; return once every run has
        ended or, after `cancel`, once the runs in flight have stopped (the others never begin)."""
        ...


# --- in this process -----------------------------------------------------------------------------
class InProcess:
    """One run after another in this process, each through `train` with the grid's `train_kwargs`."""

    def describe(self) -> str:
        return "in this process"

    def run(
        self,
        jobs: Sequence[RunJob],
        report: RunReport,
        cancel: CancelToken,
        *,
        runs_root: Path | None,
        train_kwargs: dict[str, Any],
    ) -> None:
        # TensorFlow: imported here, so importing this module stays cheap
        from engine.training.trainer import train

        datasets = LastDataset()
        try:
            for job in jobs:
                if cancel.cancelled:
                    return
                report.begun(job, Worker())
                result = train(
                    job.config,
                    lambda event, job=job: report.event(job, event),
                    cancel,
                    dataset=datasets.get(job.config),
                    runs_root=runs_root,
                    **train_kwargs,
                )
                status: RunStatus = "cancelled" if result.cancelled else "failed" if result.failed else "done"
                report.ended(job, RunOutcome(status, result.run_dir, result.metrics, result.failed))
                result.model = result.dataset = None  # let go of the model before the next run
                release_keras_state()
                if status == "cancelled":
                    return
        finally:
            datasets.clear()


class LastDataset:
    """The last loaded dataset, reused while the data options and seed stay the same (every cell
    of a repeat, unless the data is a factor): loading is not repeated, and only one is held."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._dataset: Any = None

    def get(self, config: ExperimentConfig) -> Any:
        """The dataset, or None when it cannot load (then `train` reports why, as a failed run)."""

        key = config.data.model_dump_json() + f"/{config.training.seed}"
        if key != self._key:
            self.clear()
            try:
                self._dataset = load_dataset(config.data, seed=config.training.seed)
            except LayerLabError:
                return None
            self._key = key
        return self._dataset

    def clear(self) -> None:
        self._key, self._dataset = None, None
