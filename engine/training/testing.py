"""The finished model on the test split: evaluated once, after training, into `RunMetrics`.

Kept apart from the trainer so that the rule is in one place: a test split the run never saw is
evaluated once with the final weights (those the validation figures are of: the last epoch's, or
the best epoch's when early stopping restored them); a run that validated on the test split
(`data.validation == "test"`) has no untouched test set left, so its test figures are its
validation figures, marked `test_is_validation`; a stopped run is not evaluated (Stop means now).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.architectures.outputs import as_probabilities
from engine.config import ExperimentConfig
from engine.core.records import RunMetrics
from engine.training.evaluation import figures_of_test_split
from engine.training.losses import averaged_forward


def final_test_figures(
    model: Any,
    dataset: Any,
    config: ExperimentConfig,
    validation: RunMetrics,
    *,
    cancelled: bool,
    flips: list[tuple[bool, bool]] | None = None,
) -> dict[str, Any]:
    """The `RunMetrics` fields about the test split (an empty dict: nothing to add). `flips`: the
    views of test-time augmentation to average (default: the image alone)."""
    if config.data.validation == "test":
        return validation_as_test(validation)
    if cancelled or dataset.y_test is None or not len(dataset.y_test):
        return {}
    batches = dataset.tf_dataset("test", config.training.batch_size).map(lambda x, y: x)
    return figures_of_test_split(
        probabilities(model, batches, dataset.num_classes, flips), dataset.y_test, dataset.num_classes
    )


def validation_as_test(validation: RunMetrics) -> dict[str, Any]:
    """The validation figures, as the test figures of a run that validated on the test split."""
    matrix = validation.confusion_matrix
    return {
        "test_is_validation": True,
        "test_count": validation.val_count,
        "test_loss": validation.val_loss,
        "test_accuracy": validation.val_accuracy,
        "test_confusion_matrix": matrix,
        "test_class_counts": [int(sum(row)) for row in matrix],
        "test_class_correct": [int(row[i]) for i, row in enumerate(matrix)],
    }


def probabilities(
    model: Any, batches: Any, num_classes: int, flips: list[tuple[bool, bool]] | None = None
) -> np.ndarray:
    """The model's softmax outputs over a dataset of image batches (inference mode), averaged over
    the mirrorings `flips` (test-time augmentation; default: the image alone)."""

    forward = averaged_forward(model, flips or [(False, False)])
    outputs = [np.asarray(forward(batch), np.float64) for batch in batches]
    return as_probabilities(model, np.concatenate(outputs)) if outputs else np.zeros((0, num_classes))
