"""Final metrics of a run, and the validation images the model gets wrong."""
from __future__ import annotations

import math
from typing import Any

import numpy as np


def final_metrics(probabilities: np.ndarray, dataset: Any, history: list[dict[str, Any]], best_restored: bool) -> dict[str, Any]:
    """Validation loss/accuracy recomputed from the final model's outputs, training figures
    from the epoch whose weights the model holds (Keras's running averages over that epoch),
    and every misclassified validation sample with its label, prediction and confidence."""
    y = np.asarray(dataset.y_val, np.int64)
    metrics: dict[str, Any] = {"val_count": int(len(y))}
    if len(y):
        picked = np.clip(probabilities[np.arange(len(y)), y], 1e-12, 1.0)
        predicted = probabilities.argmax(axis=1)
        metrics["val_loss"] = float(-np.log(picked).mean())
        metrics["val_accuracy"] = float((predicted == y).mean())
        metrics["misclassified"] = misclassified(probabilities, predicted, dataset)
        metrics["confusion_matrix"] = confusion(y, predicted, dataset.num_classes)
    else:
        metrics.update(val_loss=math.nan, val_accuracy=math.nan, misclassified=[], confusion_matrix=[])
    metrics["misclassified_count"] = len(metrics["misclassified"])
    source = _epoch_of_weights(history, best_restored)
    metrics["train_loss"] = source.get("loss") if source else None
    metrics["train_accuracy"] = source.get("accuracy") if source else None
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}


def _epoch_of_weights(history: list[dict[str, Any]], best_restored: bool) -> dict[str, Any] | None:
    if not history:
        return None
    if best_restored:
        return min(history, key=lambda e: e.get("val_loss", math.inf))
    return history[-1]


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class (scikit-learn's convention), as plain lists."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y_true, y_pred, labels=list(range(num_classes))).tolist()


def misclassified(probabilities: np.ndarray, predicted: np.ndarray, dataset: Any) -> list[dict[str, Any]]:
    names = dataset.class_names
    wrong = np.flatnonzero(predicted != dataset.y_val)
    sources = dataset.val_sources
    return [
        {
            "index": int(i),
            "source": sources[i] if sources else None,
            "true": names[int(dataset.y_val[i])],
            "predicted": names[int(predicted[i])],
            "confidence": float(probabilities[i, predicted[i]]),
        }
        for i in wrong
    ]
