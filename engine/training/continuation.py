"""What the trainer needs to go on from a checkpoint (resume, continue, fork) and to keep one:
the starting point, and the few steps it takes around `fit`.

Kept out of the trainer so that its own code only calls these at the right moments: before
the model is used (`restore_model`), once the optimizer is compiled (`prepare_fit`), after each
epoch and at the end (`Keeper`, engine.training.keeper).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.errors import RunError
from engine.core.events import Observer, Resumed
from engine.core.files import printable_path
from engine.runs import checkpoints
from engine.runs.checkpoints import Checkpoint
from engine.training.augmentation import layers_of
from engine.training.keeper import Keeper
from engine.training.shuffles import counted
from engine.training.train_state import TrainingState, restore_augmentation, restore_model, restore_optimizer

__all__ = ["Keeper", "StartPoint", "make_keeper", "prepare_fit", "restore_model", "starting_point"]


@dataclass
class StartPoint:
    """A checkpoint a training goes on from: its own run's (resume) or another's (fork)."""

    checkpoint: Checkpoint
    state: TrainingState
    fork: bool

    @property
    def first_epoch(self) -> int:
        """The first epoch (0-based) the training runs."""
        return self.state.epoch + 1


def starting_point(run_dir: str | Path | None, resume: bool, start_from: Checkpoint | None) -> StartPoint | None:
    """The checkpoint to start from: `start_from`, or with `resume` the run's latest; None for a
    fresh training. `RunError` when a resume has nothing to go on from."""
    if start_from is not None:
        same = run_dir is not None and Path(run_dir).resolve() == start_from.path.parent.parent.resolve()
        return StartPoint(start_from, checkpoints.read_checkpoint(start_from), fork=not same)
    if not resume:
        return None
    if run_dir is None:
        raise RunError("resuming needs the run folder to go on with")
    latest = checkpoints.latest_checkpoint(run_dir)
    if latest is None:
        raise RunError(
            f"{printable_path(run_dir)} has no checkpoint to resume from: it stopped before its first "
            "epoch ended, or was trained before LayerLab kept checkpoints; train it again"
        )
    return StartPoint(latest, checkpoints.read_checkpoint(latest), fork=False)


def make_keeper(run_dir: Path, observer: Observer, start: StartPoint | None) -> Keeper:
    """The run's checkpoint keeper. A fork first keeps the checkpoint it starts from, so that it
    can be resumed (or forked again) even if it stops before its first epoch ends."""
    keeper = Keeper(run_dir, observer, elapsed_before=start.state.elapsed_s if start is not None else 0.0)
    if start is not None and start.fork:
        keeper.adopt(start.state)
    return keeper


def prepare_fit(
    start: StartPoint | None,
    keeper: Keeper,
    model: Any,
    fitted: Any,
    train_ds: Any,
    stage: int,
    stage_first_epoch: int,
    observer: Observer,
    total_epochs: int,
) -> tuple[Any, int]:
    """After `compile`, before `fit` of a stage: (the training data to fit, the first epoch).

    When this stage goes on from the checkpoint (it was cut inside the stage), the optimizer's
    and the augmentation's states come back and the shuffle catches up; a checkpoint from the end
    of the previous stage needs none of it (a new stage starts a new optimizer, as it always
    does). `Resumed` is emitted before the first stage this training runs. From now on `keeper`
    captures `model`'s layers and `fitted`'s optimizer (the model itself, or its head).
    """
    keeper.bind(model, fitted, stage, stage_first_epoch, layers_of(train_ds))
    first = max(stage_first_epoch, start.first_epoch) if start is not None else stage_first_epoch
    inside = start is not None and start.state.stage == stage and start.first_epoch > stage_first_epoch
    note = ""
    if inside:
        note = restore_optimizer(fitted, start.state)  # type: ignore[union-attr]
        restore_augmentation(layers_of(train_ds), start.state)  # type: ignore[union-attr]
    if start is not None and first == start.first_epoch:
        history = tuple(start.state.history)
        observer(Resumed(first, total_epochs, history, note))
    return counted(train_ds, epochs_done=first - stage_first_epoch), first
