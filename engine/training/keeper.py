"""When a training writes checkpoints: every finished epoch's state is captured in memory, and
written when the time budget allows (at most `BUDGET` of the training time, ~3 %), always at the
end of a stage, on Stop and when the training fails.

Capturing (copying the variables to NumPy) is cheap next to an epoch; writing costs disk time,
so with epochs shorter than a write is worth, a checkpoint is written only every few epochs: the
next write waits until the time spent on checkpoints, plus the last write's duration, is within
`BUDGET` of the time trained. A new best epoch (lowest validation loss) that cannot be written
yet is kept in memory and written with the next one, so the best checkpoint is the best epoch.
Stop and failures write the last complete epoch: a stopped run resumes exactly where its last
full epoch ended; only a `kill -9` or a power cut loses the epochs since the last write.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.core.events import CheckpointSaved, Observer
from engine.core.records import EpochRecord
from engine.runs import checkpoints
from engine.training.train_state import TrainingState, capture

BUDGET = 0.03


class Keeper:
    def __init__(
        self, run_dir: Path, observer: Observer, *, elapsed_before: float = 0.0, budget: float | None = None
    ) -> None:
        self.run_dir = run_dir
        self.observer = observer
        self.budget = BUDGET if budget is None else budget
        self.elapsed_before = elapsed_before
        self.t_created = time.perf_counter()
        self.t_training: float | None = None  # when the first epoch began (the budget's clock)
        self.spent_s = 0.0  # capturing and writing, in this session
        self.written = 0
        self._last_write_s = 0.0
        self._latest: TrainingState | None = None  # not yet written
        self._best: TrainingState | None = None  # a best epoch not yet written
        self._written_epoch = -1
        self._best_loss = _best_kept_loss(run_dir)
        self._bound: tuple[Any, Any, int, int, tuple[Any, ...]] | None = None

    def adopt(self, state: TrainingState) -> None:
        """Keep `state` (a fork's starting point, from another run) as this run's checkpoint."""
        self._latest = state
        if state.val_loss is not None and (self._best_loss is None or state.val_loss < self._best_loss):
            self._best_loss = state.val_loss
        self.flush()

    def bind(
        self, model: Any, fitted: Any, stage: int, stage_first_epoch: int, augmentation: Iterable[Any] = ()
    ) -> None:
        """What to capture from now on: `model`'s layers, `fitted`'s optimizer, this stage."""
        self._bound = (model, fitted, stage, stage_first_epoch, tuple(augmentation))
        if self.t_training is None:
            self.t_training = time.perf_counter()

    def epoch_done(self, entry: EpochRecord, history: list[EpochRecord]) -> None:
        """After a complete epoch (partial ones, cut by a stop, are not checkpoints)."""
        if entry.partial or self._bound is None:
            return
        t0 = time.perf_counter()
        state = self._capture(entry, history)
        if state.val_loss is not None and (self._best_loss is None or state.val_loss < self._best_loss):
            self._best_loss = state.val_loss
            self._best = state
        self._latest = state
        self.spent_s += time.perf_counter() - t0
        if self._may_write():
            self.flush()

    def flush(self) -> None:
        """Write the latest complete epoch (and a pending best one) if not written yet."""
        latest, best = self._latest, self._best
        if latest is None or latest.epoch <= self._written_epoch:
            return
        t0 = time.perf_counter()
        if best is not None and best.epoch != latest.epoch:
            self._write(best, best=True)
        self._write(latest, best=best is not None and best.epoch == latest.epoch)
        checkpoints.prune(self.run_dir)
        self._latest = self._best = None
        self._written_epoch = latest.epoch
        self._last_write_s = time.perf_counter() - t0
        self.spent_s += self._last_write_s

    def flush_quietly(self) -> None:
        """`flush` on the way out of a failed training: a checkpoint that cannot be written is
        logged, never raised over the failure being reported."""
        try:
            self.flush()
        except Exception:  # the disk is full, the folder went away...: the failure comes first
            logging.getLogger(__name__).warning("could not write the last checkpoint", exc_info=True)

    def _may_write(self) -> bool:
        trained = time.perf_counter() - (self.t_training or self.t_created)
        return self.spent_s + self._last_write_s <= self.budget * trained

    def _capture(self, entry: EpochRecord, history: list[EpochRecord]) -> TrainingState:
        model, fitted, stage, first, augmentation = self._bound  # type: ignore[misc]
        optimizer, entries, arrays = capture(model, fitted, augmentation)
        loss = entry.val_loss if entry.val_loss is not None and math.isfinite(entry.val_loss) else None
        return TrainingState(
            epoch=entry.epoch,
            stage=stage,
            stage_epochs_done=entry.epoch + 1 - first,
            history=list(history),
            val_loss=loss,
            elapsed_s=self.elapsed_before + time.perf_counter() - self.t_created,
            optimizer=optimizer,
            entries=entries,
            arrays=arrays,
        )

    def _write(self, state: TrainingState, *, best: bool) -> None:
        path = checkpoints.write_checkpoint(self.run_dir, state)
        self.written += 1
        self.observer(CheckpointSaved(state.epoch, str(path), best))


def _best_kept_loss(run_dir: Path) -> float | None:
    """The best validation loss among the run's checkpoints already kept (a resumed run)."""
    losses = [c.val_loss for c in checkpoints.list_checkpoints(run_dir) if c.val_loss is not None]
    return min(losses) if losses else None
