"""Final metrics of a run, and the validation images the model gets wrong."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.run_files import EpochRecord, Misclassified, RunMetrics


def final_metrics(probabilities: np.ndarray, dataset: Any, history: list[EpochRecord], best_restored: bool) -> RunMetrics:
    """Validation loss/accuracy recomputed from the final model's outputs, training figures
    from the epoch whose weights the model holds (Keras's running averages over that epoch),
    and every misclassified validation sample with its label, prediction and confidence.
    Without validation data the validation figures are None."""
    y = np.asarray(dataset.y_val, np.int64)
    source = _epoch_of_weights(history, best_restored)
    figures: dict[str, Any] = {
        "val_count": int(len(y)),
        "train_loss": source.loss if source else None,
        "train_accuracy": source.accuracy if source else None,
    }
    if len(y):
        picked = np.clip(probabilities[np.arange(len(y)), y], 1e-12, 1.0)
        predicted = probabilities.argmax(axis=1)
        wrong = misclassified(probabilities, predicted, dataset)
        figures.update(val_loss=float(-np.log(picked).mean()), val_accuracy=float((predicted == y).mean()),
                       misclassified=wrong, misclassified_count=len(wrong),
                       confusion_matrix=confusion(y, predicted, dataset.num_classes))
    return RunMetrics(**figures)


def _epoch_of_weights(history: list[EpochRecord], best_restored: bool) -> EpochRecord | None:
    if not history:
        return None
    if best_restored:
        return min(history, key=lambda e: e.val_loss if e.val_loss is not None else math.inf)
    return history[-1]


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class (scikit-learn's convention), as plain lists."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(range(num_classes))).tolist()


def misclassified(probabilities: np.ndarray, predicted: np.ndarray, dataset: Any) -> list[Misclassified]:
    names = dataset.class_names
    wrong = np.flatnonzero(predicted != dataset.y_val)
    sources = dataset.val_sources
    return [
        Misclassified(
            index=int(i),
            source=sources[i] if sources else None,
            true=names[int(dataset.y_val[i])],
            predicted=names[int(predicted[i])],
            confidence=float(probabilities[i, predicted[i]]),
        )
        for i in wrong
    ]
