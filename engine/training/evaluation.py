"""Final metrics of a run, and the validation images the model gets wrong."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.core.records import EpochRecord, Misclassified, RunMetrics


def final_metrics(
    probabilities: np.ndarray, dataset: Any, history: list[EpochRecord], restored_epoch: int | None
) -> RunMetrics:
    """Validation loss/accuracy recomputed from the final model's outputs, training figures
    from the epoch whose weights the model holds (Keras's running averages over that epoch:
    `restored_epoch` when early stopping restored the best weights, else the last one), and
    every misclassified validation sample with its label, prediction and confidence.
    Without validation data the validation figures are None."""
    y = np.asarray(dataset.y_val, np.int64)
    source = _epoch_of_weights(history, restored_epoch)
    figures: dict[str, Any] = {
        "val_count": len(y),
        "train_loss": source.loss if source else None,
        "train_accuracy": source.accuracy if source else None,
        "evaluated_weights": "best" if restored_epoch is not None else "last",
        "evaluated_epoch": source.epoch if source else None,
    }
    if len(y):
        predicted = probabilities.argmax(axis=1)
        wrong = misclassified(probabilities, predicted, dataset)
        figures.update(
            val_loss=mean_loss(probabilities, y),
            val_accuracy=float((predicted == y).mean()),
            misclassified=wrong,
            misclassified_count=len(wrong),
            confusion_matrix=confusion(y, predicted, dataset.num_classes),
        )
    return RunMetrics(**figures)


def _epoch_of_weights(history: list[EpochRecord], restored_epoch: int | None) -> EpochRecord | None:
    if not history:
        return None
    if restored_epoch is not None:
        return next((e for e in history if e.epoch == restored_epoch), history[-1])
    return history[-1]


def mean_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Sparse categorical cross-entropy of softmax outputs (what Keras reports as the loss)."""
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0)
    return float(-np.log(picked).mean())


def figures_of_test_split(probabilities: np.ndarray, labels: np.ndarray, num_classes: int) -> dict[str, Any]:
    """The `RunMetrics` test fields of one evaluation: loss, accuracy, confusion matrix, and per
    class the samples and how many of them were right."""
    labels = np.asarray(labels, np.int64)
    if not len(labels):
        return {"test_count": 0}
    predicted = probabilities.argmax(axis=1)
    matrix = confusion(labels, predicted, num_classes)
    return {
        "test_count": len(labels),
        "test_loss": mean_loss(probabilities, labels),
        "test_accuracy": float((predicted == labels).mean()),
        "test_confusion_matrix": matrix,
        "test_class_counts": [int(sum(row)) for row in matrix],
        "test_class_correct": [int(row[i]) for i, row in enumerate(matrix)],
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class (scikit-learn's convention), as plain lists."""
    from sklearn.metrics import confusion_matrix  # slow to import: loaded when needed

    return confusion_matrix(y_true, y_pred, labels=list(range(num_classes))).tolist()


def misclassified(probabilities: np.ndarray, predicted: np.ndarray, dataset: Any) -> list[Misclassified]:
    names = dataset.class_names
    wrong = np.flatnonzero(predicted != dataset.y_val)
    sources = dataset.val_sources
    rows = getattr(dataset, "val_rows", None)
    return [
        Misclassified(
            index=int(i),
            source=sources[i] if sources else None,
            true=names[int(dataset.y_val[i])],
            predicted=names[int(predicted[i])],
            confidence=float(probabilities[i, predicted[i]]),
            **(dict(zip(("array", "row"), rows.at(i))) if rows is not None else {}),
        )
        for i in wrong
    ]
