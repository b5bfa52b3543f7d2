"""The learning curves: the one writer of `session.curves`.

A training (through the training controller) and an opened run (through the runs controller)
both end up here, so the epoch figures, the best epoch and what the curves say (the engine's
`diagnose`: overfitting, or not learning at all) are worked out once, in one place, and the view
only draws them. Per-batch points go straight to the view as they come.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

from engine import EpochRecord, best_epoch, diagnose
from gui.session import CurvesState, Session


class CurvesView(Protocol):
    def show_curves(self, state: CurvesState) -> None: ...
    def add_batch(
        self, epoch: int, step: int, steps: int, loss: float, accuracy: float, seconds: float = math.nan
    ) -> None: ...


class CurvesController:
    def __init__(self, session: Session, view: CurvesView) -> None:
        self.session = session
        self.view = view
        session.events.curves.connect(view.show_curves)
        view.show_curves(session.curves)

    # --- a new set of curves ----------------------------------------------------------------------------
    def begin(
        self,
        title: str,
        planned: int,
        num_classes: int | None,
        tooltip: str = "",
        history: Sequence[Any] = (),
        placeholder: str = "",
    ) -> None:
        """Curves of a training that starts now (after `history`, the epochs a resumed run already
        has), or of a saved run (`history` only, `planned` 0)."""
        epochs = tuple(history)
        self._set(
            generation=self.session.curves.generation + 1,
            title=title,
            tooltip=tooltip,
            summary="",
            placeholder=placeholder or CurvesState().placeholder,
            planned=planned,
            epochs=(),
            stages=(),
            num_classes=num_classes,
            best=None,
            diagnosis=None,
        )
        if epochs:
            self.add_history(epochs)

    def clear(self, placeholder: str = "") -> None:
        """No curves: the empty plots say what will appear there."""
        self.begin("", 0, None, placeholder=placeholder)

    # --- as a training goes -----------------------------------------------------------------------------
    def add_batch(
        self, epoch: int, step: int, steps: int, loss: float, accuracy: float, seconds: float = math.nan
    ) -> None:
        """One batch's figures; `seconds`: of training so far (the x of the seconds axis)."""
        self.view.add_batch(epoch, step, steps, loss, accuracy, seconds)

    def add_epoch(self, record: Any, summary: str = "") -> None:
        """One more epoch (an `EpochRecord`, or an event with its fields)."""
        self._with_epochs((*self.session.curves.epochs, _record(record)), summary=summary)

    def add_history(self, history: Sequence[Any]) -> None:
        """Saved epochs (a run going on from a checkpoint draws those first), with their stages."""
        curves = self.session.curves
        stages = list(curves.stages)
        stage = curves.epochs[-1].stage if curves.epochs else 1
        for entry in history:
            if entry.stage != stage:
                stage = entry.stage
                stages.append((entry.epoch, f"stage {stage}"))
        self._with_epochs((*curves.epochs, *(_record(e) for e in history)), stages=tuple(stages))

    def add_stage(self, epoch: int, description: str) -> None:
        """Staged fine-tuning moved on at `epoch` (0-based): the plots mark it."""
        self._set(stages=(*self.session.curves.stages, (epoch, description.split(":")[0])))

    def set_title(self, title: str, tooltip: str = "") -> None:
        self._set(title=title, tooltip=tooltip)

    # --- internals ------------------------------------------------------------------------------------
    def _with_epochs(self, epochs: tuple[Any, ...], **changes: Any) -> None:
        self._set(
            epochs=epochs,
            best=best_epoch(epochs),
            diagnosis=diagnose(epochs, self.session.curves.num_classes),
            **changes,
        )

    def _set(self, **changes: Any) -> None:
        self.session.update("curves", **changes)


def _record(entry: Any) -> Any:
    """An `EpochRecord` (NaN figures read as None), from a record or an `EpochEnd` event."""
    if isinstance(entry, EpochRecord):
        return entry
    return EpochRecord(
        epoch=entry.epoch,
        loss=entry.loss,
        accuracy=entry.accuracy,
        val_loss=entry.val_loss,
        val_accuracy=entry.val_accuracy,
        seconds=max(0.0, getattr(entry, "seconds", 0.0) or 0.0),
        stage=getattr(entry, "stage", 1),
        partial=bool(getattr(entry, "partial", False)),
        learning_rate=getattr(entry, "learning_rate", None),
        elapsed_seconds=_seconds(getattr(entry, "elapsed_seconds", None)),
    )


def _seconds(value: Any) -> float | None:
    """Seconds of training, or None when the event had none (NaN)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) and value >= 0 else None
