"""The embedding view's data: penultimate features of a split, projected to two dimensions.

PCA (scikit-learn) is the default: fast, deterministic, and it can place new samples (dropped
images) into the same plane. UMAP (the optional `umap-learn` package: `pip install
'layerlab[insight]'`) keeps neighbourhoods better and can place new samples too. t-SNE
(scikit-learn) shows clusters well but cannot place new samples: `Embedding.project` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.core.errors import ConfigError
from engine.datasets.base import stratified_subset
from engine.inference.features import array_batches, features_and_probabilities, penultimate_features

__all__ = ["METHODS", "Embedding", "embed", "penultimate_features"]

METHODS = ("pca", "umap", "tsne")
MAX_POINTS = 5000  # a stratified sample beyond this: a plot of more points shows no more
UMAP_MISSING = (
    "UMAP needs the optional package umap-learn: install it with "
    "`pip install 'layerlab[insight]'` (or choose pca or tsne)"
)


@dataclass(frozen=True)
class Embedding:
    """2-D positions of a split's samples, with what the view colours and marks them by."""

    points: np.ndarray  # float32 (N, 2)
    labels: np.ndarray  # int (N,): the given class
    predicted: np.ndarray  # int (N,): the model's answer (misclassified where != labels)
    indices: np.ndarray  # int (N,): each point's index in the split as loaded
    split: str
    method: str  # "pca" | "umap" | "tsne"
    projector: Any = field(default=None, repr=False, compare=False)

    def project(self, features: np.ndarray) -> np.ndarray:
        """Place new samples' penultimate features (M, D) (e.g. `Classifier.features` of dropped
        images) in the same plane: float32 (M, 2). `ConfigError` for t-SNE, which cannot."""
        if self.projector is None:
            raise ConfigError(
                "t-SNE cannot place new images among the points; choose pca or umap to see dropped images"
            )
        return np.asarray(
            self.projector.transform(np.asarray(features, np.float32).reshape(len(features), -1)), np.float32
        )


def embed(
    classifier_or_model: Any,
    dataset: Any,
    split: str = "validation",
    method: str = "pca",
    *,
    max_points: int = MAX_POINTS,
    seed: int = 0,
    cancel: Any = None,
) -> Embedding:
    """Project the penultimate features of `split` of `dataset` (through a `Classifier` or a
    Keras model) to 2-D with `method`."""
    if method not in METHODS:
        raise ConfigError(f"unknown projection {method!r}: choose one of {', '.join(METHODS)}")

    model = getattr(classifier_or_model, "model", classifier_or_model)
    images, labels = dataset.split(split)
    labels = np.asarray(labels)
    keep = stratified_subset(labels, max_points, seed) if len(labels) > max_points else np.arange(len(labels))
    chosen = images if len(keep) == len(labels) else images[keep]
    features, probabilities = features_and_probabilities(model, array_batches(chosen), cancel)
    points, projector = _project(features, method, seed)
    return Embedding(
        points,
        labels[keep],
        probabilities.argmax(axis=1) if len(probabilities) else labels[keep][:0],
        keep.astype(np.int64),
        split,
        method,
        projector,
    )


def _project(features: np.ndarray, method: str, seed: int) -> tuple[np.ndarray, Any]:
    count = len(features)
    if count < 3:  # nothing to fit a plane on: points on a line, in order
        return np.stack([np.arange(count), np.zeros(count)], axis=1).astype(np.float32), None
    if method == "pca":
        from sklearn.decomposition import PCA  # slow to import: loaded when needed

        pca = PCA(n_components=2, random_state=seed).fit(features)
        return pca.transform(features).astype(np.float32), pca
    if method == "umap":
        try:
            import umap  # an optional extra: imported when needed
        except ImportError:
            raise ConfigError(UMAP_MISSING) from None
        reducer = umap.UMAP(n_components=2, n_neighbors=min(15, count - 1), random_state=seed)
        return np.asarray(reducer.fit_transform(features), np.float32), reducer
    from sklearn.manifold import TSNE  # slow to import: loaded when needed

    points = TSNE(
        n_components=2, perplexity=float(min(30.0, (count - 1) / 3)), init="pca", random_state=seed
    ).fit_transform(features)
    return points.astype(np.float32), None
