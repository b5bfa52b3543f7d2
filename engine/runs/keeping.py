"""Going on with a saved run, planned before anything trains: from which checkpoint, for how many
more epochs, with which settings, and whether that can run at all.

Continue and fork are one question asked two ways: "train N more epochs after this checkpoint",
in the run's own folder (continue: from its last epoch) or in a new folder with the current
settings (fork: from any kept checkpoint). Asked as a number of epochs to add, the plan is always
consistent (a fork from epoch 80 with 5 more plans 85 epochs, whatever the current settings
planned); `plan_keep` checks the rest (the checkpoint is kept, the settings validate) and says
what fails in one line, so a front end can refuse before it closes its dialog. Epochs are named
as the curves name them: 1-based ("after epoch 80" is the checkpoint of 0-based epoch 79).
Cheap: reads config.json and the checkpoints' metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.config import ExperimentConfig, fork_changes, planned_epochs, with_total_epochs
from engine.core.errors import ConfigError, RunError
from engine.core.files import printable_path
from engine.runs.checkpoints import Checkpoint, list_checkpoints
from engine.runs.folders import read_config

KeepHow = Literal["continue", "fork"]


@dataclass(frozen=True)
class KeepOffer:
    """What a run offers to go on from: its kept checkpoints (the latest and the best) and its plan."""

    run_dir: str
    checkpoints: tuple[Checkpoint, ...]
    planned: int  # epochs its config plans, all stages
    done: int  # complete epochs (its latest checkpoint's epoch + 1)


@dataclass(frozen=True)
class KeepPlan:
    """A continue or a fork, checked: where it starts, how far it goes, what it trains."""

    how: KeepHow
    run_dir: str
    epoch: int  # the checkpoint it goes on from (0-based)
    total: int  # planned epochs in all, after it
    config: ExperimentConfig  # what it trains
    changes: dict[str, Any] = field(default_factory=dict)  # fork: the settings it changes from the run's

    @property
    def summary(self) -> str:
        """ "Trains epochs 81–85 (85 in all)", as the curves count."""
        first, last = self.epoch + 2, self.total
        span = f"epoch {first}" if first == last else f"epochs {first}–{last}"
        return f"Trains {span} ({self.total} in all)"


def keep_offer(run_dir: str | Path) -> KeepOffer:
    """The checkpoints a run keeps and what it planned (`RunError` for a folder that is not a run)."""
    run_dir = Path(run_dir).expanduser()
    config = read_config(run_dir)
    kept = tuple(list_checkpoints(run_dir))
    return KeepOffer(str(run_dir), kept, planned_epochs(config), kept[-1].epoch + 1 if kept else 0)


def plan_keep(
    run_dir: str | Path,
    how: KeepHow,
    extra_epochs: int,
    *,
    epoch: int | None = None,
    current: ExperimentConfig | None = None,
) -> KeepPlan:
    """Plan `extra_epochs` more epochs after the checkpoint of `epoch` (0-based; the latest when
    None): in the run's folder ("continue", always from the latest) or as a new run with the
    settings of `current` that a fork takes (`engine.fork_changes`). `ConfigError` or `RunError`,
    one line, when it cannot run."""
    if extra_epochs < 1:
        raise ConfigError("add at least one epoch")
    offer = keep_offer(run_dir)
    if not offer.checkpoints:
        raise RunError(
            f"{printable_path(Path(run_dir))} keeps no checkpoint to go on from: it stopped before its first "
            "epoch ended, or was trained before LayerLab kept checkpoints"
        )
    latest = offer.checkpoints[-1]
    start = latest if how == "continue" or epoch is None else _kept(offer, epoch)
    total = start.epoch + 1 + extra_epochs
    run_config = read_config(Path(run_dir).expanduser())
    if how == "continue":
        return KeepPlan("continue", offer.run_dir, start.epoch, total, with_total_epochs(run_config, total))
    if current is None:
        raise ConfigError("a fork needs the settings it starts with")
    changes = fork_changes(run_config, current)
    config = with_total_epochs(
        run_config.updated(**changes, parent={"run": offer.run_dir, "epoch": start.epoch}), total
    )
    return KeepPlan("fork", offer.run_dir, start.epoch, total, config, fork_changes(run_config, config))


def _kept(offer: KeepOffer, epoch: int) -> Checkpoint:
    for checkpoint in offer.checkpoints:
        if checkpoint.epoch == epoch:
            return checkpoint
    kept = ", ".join(f"after epoch {c.epoch + 1}" for c in offer.checkpoints)
    raise RunError(f"the run keeps no checkpoint after epoch {epoch + 1}; it keeps: {kept}")
