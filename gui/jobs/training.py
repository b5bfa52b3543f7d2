"""Trainings on the training lane: one run, going on with a saved one, the learning-rate sweep,
and a grid of runs. Every engine event is reported to the UI thread as it happens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import Cancelled, ExperimentConfig, dataset_key, read_config
from engine import keep_offer as engine_keep_offer
from gui.engine_startup import load_engine
from gui.tasks import Task


@dataclass(frozen=True)
class Resources:
    """What every training of a window shares: one feature cache, within one memory budget."""

    feature_cache: Any  # engine.FeatureCache
    budget: Any  # engine.MemoryBudget

    @property
    def train_kwargs(self) -> dict[str, Any]:
        return {"feature_cache": self.feature_cache, "memory_budget": self.budget}


def train(
    task: Task, config: ExperimentConfig, dataset: Any, runs_root: Path | None, resources: Resources, pause: Any = None
) -> Any:
    """One training. `pause`: an `engine.PauseToken` the window holds to pause and resume it."""
    load_engine()
    from engine import train as run_training  # TensorFlow: only in the worker, once the engine is loaded

    return run_training(
        config,
        task.report,
        task.cancel_token,
        dataset=dataset,
        runs_root=runs_root,
        pause=pause,
        **resources.train_kwargs,
    )


def keep_training(
    task: Task,
    config: ExperimentConfig,
    dataset: Any,
    runs_root: Path | None,
    resources: Resources,
    how: str,
    run_dir: str,
    epoch: int = -1,
    extra_epochs: int = 0,
    plan: Any = None,
    pause: Any = None,
) -> Any:
    """Go on with a saved run: `how` "resume" (from its last complete epoch to its planned epochs),
    "continue" (`extra_epochs` more, same folder) or "fork" (a new run after the checkpoint of
    `epoch`, 0-based, for `extra_epochs` more, with the settings of `plan`: an `engine.KeepPlan`).
    The window's dataset is reused when the run would load the very same one."""
    load_engine()
    from engine import continue_run, fork_run, resume_run  # TensorFlow: only in the worker

    target = plan.config if plan is not None else read_config(Path(run_dir))
    same = dataset is not None and dataset_key(target.data, target.training.seed) == dataset_key(
        config.data, config.training.seed
    )
    common = dict(
        observer=task.report,
        cancel=task.cancel_token,
        pause=pause,
        dataset=dataset if same else None,
        **resources.train_kwargs,
    )
    if how == "resume":
        return resume_run(run_dir, **common)
    if how == "continue":
        return continue_run(run_dir, extra_epochs, **common)
    return fork_run(run_dir, plan.epoch, plan.changes, runs_root=runs_root, **common)


def keep_offer(task: Task, run_dir: str) -> Any:
    """What a run offers to go on from (`engine.KeepOffer`): its kept checkpoints and its plan."""
    return engine_keep_offer(run_dir)


@dataclass(frozen=True)
class LrFound:
    sweep: Any  # engine.LrSweep, None when stopped
    arch: str


def find_lr(
    task: Task, config: ExperimentConfig, dataset: Any, runs_root: Path | None, resources: Resources, steps: int = 100
) -> LrFound:
    """The learning-rate finder on the current config; each `LrProbe` is reported as it comes."""
    load_engine()
    from engine import find_learning_rate  # TensorFlow: only in the worker, once the engine is loaded

    try:
        sweep = find_learning_rate(config, dataset=dataset, steps=steps, observer=task.report, cancel=task.cancel_token)
    except Cancelled:
        sweep = None
    return LrFound(sweep, config.arch.name)


def run_grid(
    task: Task,
    config: ExperimentConfig,
    dataset: Any,
    runs_root: Path | None,
    resources: Resources,
    spec: Any,
    grid_dir: str | None,
    executor: Any = None,
) -> Any:
    """A grid of ordinary runs on `executor` (an `engine.Executor`; None: one after another in
    this process); the runs' and the grid's events are reported."""
    load_engine()
    from engine import run_grid as run  # TensorFlow: only in the worker, once the engine is loaded

    return run(
        spec,
        task.report,
        task.cancel_token,
        grid_dir=Path(grid_dir) if grid_dir else None,
        runs_root=runs_root,
        executor=executor,
        **resources.train_kwargs,
    )
