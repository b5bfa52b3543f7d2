"""The map of the validation set, explanations of its samples, and label issues and decisions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import Cancelled, DataOptions, ExperimentConfig, record_decision
from gui.engine_startup import load_engine
from gui.tasks import Task


def embed(task: Task, classifier: Any, dataset: Any, method: str) -> Any:
    """The validation images placed on a plane by the network's penultimate features."""
    load_engine()
    from engine import embed as project  # TensorFlow: only in the worker, once the engine is loaded

    return project(classifier, dataset, "validation", method, cancel=task.cancel_token)


def place_image(task: Task, classifier: Any, embedding: Any, ticket: int, network_input: Any) -> tuple[int, Any]:
    """(ticket, (x, y)) of a classified image on the map."""
    features = classifier.features(np.asarray(network_input, np.float32)[None])
    return ticket, embedding.project(features)[0]


@dataclass(frozen=True)
class ExplainedSample:
    """One validation image with the model's answer and where it looked."""

    name: str  # in the user's terms: "x_train[1234]", a file name, or "validation image 12"
    image: Any  # uint8, as stored
    overlay: Any  # uint8 RGB
    true: str
    predicted: str
    probability: float
    how: str


def explain_sample(task: Task, classifier: Any, image: Any, name: str, true: str) -> ExplainedSample:
    from engine import explain, overlay  # TensorFlow: only in the worker, with a classifier already made

    explanation = explain(classifier, np.asarray(image, np.float32))
    return ExplainedSample(
        name,
        image,
        overlay(image, explanation.heatmap),
        true,
        explanation.label,
        explanation.probability,
        explanation.how,
    )


def find_label_issues(
    task: Task,
    config: ExperimentConfig,
    dataset: Any,
    runs_root: Path | None,
    resources: Any,
    folds: int,
    epochs: int,
) -> Any:
    """Samples whose label is likely wrong, most likely first (None when stopped)."""
    load_engine()
    from engine import find_label_issues as find  # TensorFlow: only in the worker

    try:
        return find(
            config, folds=folds, epochs=epochs or None, cancel=task.cancel_token, observer=task.report, dataset=dataset
        )
    except Cancelled:
        return None


def decide_label(task: Task, data: DataOptions, seed: int, key: Any, action: str, label: str) -> Any:
    """`engine.record_decision`: one decision recorded beside the dataset (never in the user's files)."""
    return record_decision(data, seed, key, action, label)
