"""Going on with a run: resume it after a stop or a crash, continue a finished one for more
epochs, or fork a new run from one of its checkpoints with changed settings.

All three read the run's own files (config.json, the checkpoints) and call `train`, so they
report the same events and return the same `TrainResult`; the run folder gets one history entry
per epoch, with no gap and no duplicate (the history is the checkpoint's, then the new epochs).
Mistakes found before training (no checkpoint, nothing left to train, a change the config
refuses) raise `RunError` or `ConfigError`; faults during training are a result with `failed`
set, as with `train`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.config import planned_epochs, with_total_epochs
from engine.core.errors import ConfigError, RunError
from engine.core.files import printable_path
from engine.runs.checkpoints import Checkpoint, checkpoint_at, latest_checkpoint
from engine.runs.folders import new_run_dir, read_config
from engine.training.trainer import train


def resume_run(
    run_dir: str | Path,
    *,
    epochs: int | None = None,
    observer: Any = None,
    cancel: Any = None,
    pause: Any = None,
    **train_kwargs: Any,
) -> Any:
    """Go on with the run in `run_dir` from its latest checkpoint (its last complete epoch) up to
    its planned epochs, or to `epochs` in all when given (the new planned total, saved in its
    config.json). `train_kwargs` go to `train` (e.g. `dataset`)."""

    run_dir = Path(run_dir).expanduser()
    config = read_config(run_dir)
    latest = _latest(run_dir)
    if epochs is not None:
        config = with_total_epochs(config, epochs)
    done = latest.epoch + 1
    if planned_epochs(config) <= done:
        raise ConfigError(
            f"{printable_path(run_dir)} already has {done} complete epochs of the "
            f"{planned_epochs(config)} planned; give a larger total to continue it"
        )
    return train(config, observer, cancel, run_dir=run_dir, pause=pause, start_from=latest, **train_kwargs)


def continue_run(run_dir: str | Path, extra_epochs: int, **same: Any) -> Any:
    """`extra_epochs` more epochs for a run (finished or not), in the same folder, after its
    latest checkpoint. The schedule, if any, is spread over the new total."""
    if extra_epochs < 1:
        raise ConfigError("continue a run for at least one more epoch")

    run_dir = Path(run_dir).expanduser()
    read_config(run_dir)  # a folder that is not a run says so first
    return resume_run(run_dir, epochs=_latest(run_dir).epoch + 1 + extra_epochs, **same)


def fork_run(
    run_dir: str | Path,
    epoch: int,
    changes: dict[str, Any],
    *,
    observer: Any = None,
    cancel: Any = None,
    pause: Any = None,
    runs_root: str | Path | None = None,
    **train_kwargs: Any,
) -> Any:
    """A new run starting from the checkpoint of `epoch` (0-based) of the run in `run_dir`, with
    `changes` applied (dotted keys as in `ExperimentConfig.updated`: `{"freeze_all_but": 4}`,
    `{"training.learning_rate": 1e-4}`, `{"augmentation.rotation": 0.1}`). The new run's
    config.json names its parent (`parent: {"run", "epoch"}`); its history starts with the
    parent's epochs up to `epoch`. Unless `changes` sets `training.epochs`, the fork plans the
    parent's total. New folder: under `runs_root`, by default beside the parent."""

    run_dir = Path(run_dir).expanduser()
    start = checkpoint_at(run_dir, epoch)
    config = read_config(run_dir).updated(**changes, parent={"run": str(run_dir), "epoch": epoch})
    if planned_epochs(config) <= epoch + 1:
        raise ConfigError(
            f"a fork from epoch {epoch} needs more than {epoch + 1} planned epochs "
            f"(training.epochs is {planned_epochs(config)})"
        )
    target = new_run_dir(config, Path(runs_root) if runs_root is not None else run_dir.parent)
    return train(config, observer, cancel, run_dir=target, pause=pause, start_from=start, **train_kwargs)


def _latest(run_dir: Path) -> Checkpoint:
    latest = latest_checkpoint(run_dir)
    if latest is None:
        raise RunError(
            f"{printable_path(run_dir)} has no checkpoint to go on from: it stopped before its first "
            "epoch ended, or was trained before LayerLab kept checkpoints"
        )
    return latest
