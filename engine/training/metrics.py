"""Per-class precision, recall, F1 and support, and the pairs of classes most often confused.

scikit-learn does the arithmetic (`precision_recall_fscore_support`), so LayerLab's figures are
the ones anybody can reproduce; classes that never occur or are never predicted get 0, not NaN
(`zero_division=0`), because NaN is not JSON and a table cannot sort it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.core.records import ClassMetrics


def per_class_metrics(
    y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, class_names: Sequence[str]
) -> list[ClassMetrics]:
    """One `ClassMetrics` per class name, in class order (labels are indices into `class_names`)."""
    from sklearn.metrics import precision_recall_fscore_support  # slow to import: loaded when needed

    labels = list(range(len(class_names)))
    y_true, y_pred = np.asarray(y_true, np.int64).reshape(-1), np.asarray(y_pred, np.int64).reshape(-1)
    if len(y_true) == 0:
        return [ClassMetrics(str(name), 0.0, 0.0, 0.0, 0) for name in class_names]
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0
    )
    return [
        ClassMetrics(str(name), float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
    ]


def per_class_from_confusion(
    confusion_matrix: Sequence[Sequence[int]], class_names: Sequence[str]
) -> list[ClassMetrics]:
    """The same table from a confusion matrix (rows: true, columns: predicted), for runs saved
    before `metrics.json` held it: the matrix is expanded back into (true, predicted) pairs."""
    matrix = np.asarray(confusion_matrix, np.int64)
    if matrix.size == 0:
        return []
    true, predicted = np.nonzero(matrix)
    counts = matrix[true, predicted]
    return per_class_metrics(np.repeat(true, counts), np.repeat(predicted, counts), class_names)


def top_confusions(
    confusion_matrix: Sequence[Sequence[int]], class_names: Sequence[str], k: int = 5
) -> list[tuple[str, str, int]]:
    """The `k` most frequent mistakes as (true class, predicted class, count), largest first;
    pairs never confused are left out."""
    matrix = np.asarray(confusion_matrix, np.int64)
    if matrix.ndim != 2 or matrix.size == 0:
        return []
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true, predicted = np.nonzero(off)
    order = np.lexsort((predicted, true, -off[true, predicted]))[: max(0, k)]
    name = lambda i: str(class_names[i]) if i < len(class_names) else str(i)  # noqa: E731
    return [(name(int(true[i])), name(int(predicted[i])), int(off[true[i], predicted[i]])) for i in order]
