"""What a training adds to its figures at the end: the per-class tables, the misclassified
samples named in the data as loaded, and the out-of-distribution model saved with the run.

The trainer calls `honour_label_decisions` once the data is loaded and `after_training` once the
final metrics are known.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import ExperimentConfig
from engine.datasets.decisions import AppliedDecisions, honour_decisions

__all__ = ["AppliedDecisions", "after_training", "honour_label_decisions"]
from engine.core.errors import LayerLabError
from engine.core.records import RunMetrics
from engine.images.spec import PreprocessSpec
from engine.inference.features import array_batches, features_and_probabilities
from engine.inference.ood import fit_ood
from engine.training.metrics import per_class_metrics

log = logging.getLogger(__name__)


def honour_label_decisions(dataset: Any, config: ExperimentConfig) -> AppliedDecisions:
    """The dataset to train on: the saved label decisions applied (see `engine.datasets.decisions`)."""
    return honour_decisions(dataset, config)


def after_training(
    metrics: RunMetrics,
    *,
    model: Any,
    dataset: Any,
    val_probabilities: np.ndarray,
    run_dir: Path,
    applied: AppliedDecisions | None = None,
    seed: int = 0,
    cached: tuple[Any, Any] | None = None,
    spec: Any = None,
) -> tuple[RunMetrics, str]:
    """`metrics` with the per-class tables, the decision counts and misclassified indices that
    point into the validation split as loaded; the out-of-distribution model is fitted and saved
    as `ood.npz` (from the frozen base's `cached` features when there are some: see `fit_ood`).
    Returns (metrics, a note: empty, or why there is no OOD model). Never raises for the OOD
    fit: a run without it still classifies, only without a familiarity verdict."""
    update: dict[str, Any] = {}
    if metrics.failed is None and len(val_probabilities):
        update["per_class"] = per_class_metrics(dataset.y_val, val_probabilities.argmax(axis=1), dataset.class_names)
    if metrics.failed is None and getattr(dataset, "y_test", None) is not None and len(dataset.y_test):
        update["test_per_class"] = _test_per_class(model, dataset)
    if applied is not None and (applied.excluded or applied.relabelled):
        update.update(excluded_samples=applied.excluded, relabelled_samples=applied.relabelled)
        positions = applied.positions.get("validation")
        if positions is not None:
            update["misclassified"] = [
                m.model_copy(update={"index": int(positions[m.index])}) for m in metrics.misclassified
            ]
    return metrics.model_copy(update=update), _fit_and_save_ood(model, dataset, spec, run_dir, seed, cached)


def _test_per_class(model: Any, dataset: Any) -> list:

    x_test, y_test = dataset.split("test")
    _, probabilities = features_and_probabilities(model, array_batches(x_test))
    return per_class_metrics(y_test, probabilities.argmax(axis=1), dataset.class_names)


def _fit_and_save_ood(
    model: Any, dataset: Any, spec: Any, run_dir: Path, seed: int, cached: tuple[Any, Any] | None
) -> str:
    spec = spec if spec is not None else PreprocessSpec.from_dataset(dataset)
    try:
        fit_ood(model, dataset, spec, seed=seed, cached=cached).save(run_dir)
    except LayerLabError as err:
        return str(err)
    except Exception as err:  # a singular covariance, a model without a penultimate layer...
        log.warning("no out-of-distribution model for %s: %s", run_dir, err, exc_info=True)
        return f"no out-of-distribution score ({type(err).__name__})"
    return ""
