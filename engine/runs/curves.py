"""What a run's curves say: its best epoch, and whether it overfits or does not learn at all.

One rule for every front end (the window's note above the curves, a report): a model that
memorises its training images shows validation loss rising while training loss falls; a model
that learns nothing (a rate far off, a frozen base with random weights, labels that do not match
the images) stays at chance level, and then telling it to add dropout would be wrong advice.
So the overfitting warning needs training accuracy clearly above chance, and a model stuck near
chance gets the not-learning message instead. Cheap: plain numbers from `history.json` records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

#: Training accuracy below chance + this share of the way to 100 %: "not learning".
NOT_LEARNING_MARGIN = 0.1
#: Training accuracy at least chance + this share of the way to 100 %: "clearly above chance".
LEARNING_MARGIN = 0.25
#: Epochs in a row where validation loss rose while training loss fell: overfitting.
OVERFITTING_STREAK = 2
#: Complete epochs before any verdict (one epoch says nothing about a trend).
MIN_EPOCHS = 2


@dataclass(frozen=True)
class CurveDiagnosis:
    """What the curves say, in one line and the advice that goes with it."""

    kind: str  # "overfitting" | "not_learning"
    text: str  # one line, as the curves name epochs (1-based)
    advice: str  # what to try
    since: int | None = None  # overfitting: the first epoch (0-based) whose validation loss rose


def chance_accuracy(num_classes: int | None) -> float | None:
    """The accuracy of guessing: 1 / classes (None for fewer than two classes)."""
    return 1.0 / num_classes if num_classes and num_classes >= 2 else None


def best_epoch(history: Sequence[Any]) -> int | None:
    """The epoch (0-based) of the lowest validation loss among complete epochs; the earliest on a
    tie; None without validation figures. Entries: `EpochRecord`s or anything with their fields."""
    scored = [(e.val_loss, e.epoch) for e in history if not getattr(e, "partial", False) and _finite(e.val_loss)]
    return min(scored)[1] if scored else None


def overfitting_since(history: Sequence[Any]) -> int | None:
    """The first epoch (0-based) of the latest streak of `OVERFITTING_STREAK` or more epochs in which
    validation loss rose while training loss fell (None when the curves end without one)."""
    complete = [e for e in history if not getattr(e, "partial", False)]
    streak, start = 0, None
    for before, after in pairwise(complete):
        figures = (before.val_loss, after.val_loss, before.loss, after.loss)
        if all(_finite(v) for v in figures) and after.val_loss > before.val_loss and after.loss < before.loss:
            streak += 1
            start = after.epoch if streak == 1 else start
        else:
            streak, start = 0, None
    return start if streak >= OVERFITTING_STREAK else None


def diagnose(history: Sequence[Any], num_classes: int | None) -> CurveDiagnosis | None:
    """Not learning (training accuracy near chance after `MIN_EPOCHS`), else overfitting (only with
    training accuracy clearly above chance, or for a task without accuracy), else None."""
    complete = [e for e in history if not getattr(e, "partial", False)]
    if len(complete) < MIN_EPOCHS:
        return None
    chance = chance_accuracy(num_classes)
    accuracies = [e.accuracy for e in complete if _finite(e.accuracy)]
    if chance is not None and accuracies:
        best = max(accuracies)
        if best < chance + NOT_LEARNING_MARGIN * (1 - chance):
            return CurveDiagnosis(
                "not_learning",
                f"Not learning: training accuracy stays near chance ({best:.0%}; guessing among "
                f"{num_classes} classes gives {chance:.0%}).",
                "Try another learning rate, unfreeze layers (a frozen base with random weights gives the head "
                "nothing to learn from), train longer, and check that the labels match the images.",
            )
        if best < chance + LEARNING_MARGIN * (1 - chance):
            return None  # learning, but not clearly above chance yet: no overfitting verdict
    since = overfitting_since(complete)
    if since is None:
        return None
    return CurveDiagnosis(
        "overfitting",
        f"Overfitting since epoch {since + 1}: validation loss rises while training loss falls.",
        "The model is memorising the training images: try more dropout, augmentation, fewer epochs or early "
        "stopping (the best epoch is marked with a star).",
        since,
    )


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
