"""What the curves say: the best epoch, overfitting only above chance, not learning at chance."""

from __future__ import annotations

from engine import EpochRecord, best_epoch, diagnose


def _history(*rows: tuple[float, float, float, float]) -> list[EpochRecord]:
    """Rows of (loss, accuracy, val loss, val accuracy), one per epoch."""
    return [
        EpochRecord(epoch=i, loss=loss, accuracy=acc, val_loss=val_loss, val_accuracy=val_acc)
        for i, (loss, acc, val_loss, val_acc) in enumerate(rows)
    ]


def test_the_best_epoch_is_the_lowest_validation_loss_of_a_complete_epoch() -> None:
    history = _history((1.0, 0.5, 0.9, 0.5), (0.8, 0.6, 0.7, 0.6), (0.6, 0.7, 0.75, 0.6))
    assert best_epoch(history) == 1
    cut = [*history, EpochRecord(epoch=3, loss=0.5, val_loss=0.1, partial=True)]
    assert best_epoch(cut) == 1  # a partial epoch (cut by a stop) is not a candidate
    assert best_epoch(_history((1.0, 0.5, float("nan"), 0.5))) is None


def test_overfitting_needs_a_streak_and_accuracy_clearly_above_chance() -> None:
    learning = _history(
        (1.0, 0.60, 0.9, 0.6),
        (0.8, 0.80, 0.7, 0.7),
        (0.6, 0.90, 0.75, 0.7),
        (0.5, 0.95, 0.8, 0.7),
        (0.4, 0.97, 0.9, 0.7),
    )
    found = diagnose(learning, 10)
    assert found is not None and found.kind == "overfitting" and found.since == 2
    assert "since epoch 3" in found.text and "dropout" in found.advice
    assert diagnose(learning[:3], 10) is None  # one rising epoch is not a streak


def test_a_model_at_chance_is_not_learning_not_overfitting() -> None:
    """A frozen random base: the head stays at chance while its loss wobbles (val loss rising, train
    loss falling): the advice is about the rate, the frozen layers and the data, never dropout."""
    stuck = _history(
        (2.31, 0.10, 2.30, 0.10), (2.30, 0.11, 2.31, 0.10), (2.29, 0.12, 2.32, 0.10), (2.28, 0.11, 2.33, 0.10)
    )
    found = diagnose(stuck, 10)
    assert found is not None and found.kind == "not_learning"
    assert "chance" in found.text and "10 classes" in found.text and "frozen" in found.advice
    assert diagnose(stuck[:1], 10) is None  # one epoch says nothing yet


def test_between_chance_and_clearly_above_nothing_is_said_and_autoencoders_use_the_loss() -> None:
    slow = _history((2.0, 0.25, 2.1, 0.2), (1.9, 0.27, 2.2, 0.2), (1.8, 0.28, 2.3, 0.2))
    assert diagnose(slow, 10) is None  # learning a little, no overfitting verdict yet
    no_accuracy = [
        EpochRecord(epoch=i, loss=loss, val_loss=val_loss)
        for i, (loss, val_loss) in enumerate(((0.05, 0.04), (0.04, 0.05), (0.03, 0.06)))
    ]
    found = diagnose(no_accuracy, None)
    assert found is not None and found.kind == "overfitting" and found.since == 1
