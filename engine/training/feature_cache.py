"""The frozen-feature cache: compute a frozen, deterministic prefix once, train only the rest.

When the first part of a model has no trainable weights and no randomness (no dropout, no noise,
no augmentation in front of it), its output for a given image never changes during training.
We cut the model at the deepest such tensor that is the only link between the two parts, run
the prefix once over the data, and train the remaining head on those features. The head shares
its layers with the full model, so the full model is trained and saved as usual.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

RANDOM_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout"}
DEFAULT_LIMIT_BYTES = 2 * 2**30
EXTRACTION_BATCH = 256


def memory_limit_bytes() -> int:
    """Largest feature cache we keep in memory (`LAYERLAB_FEATURE_CACHE_MB` overrides)."""
    mb = os.environ.get("LAYERLAB_FEATURE_CACHE_MB")
    return int(float(mb) * 2**20) if mb else DEFAULT_LIMIT_BYTES


@dataclass
class CachePlan:
    prefix: Any          # keras.Model: image -> features
    head: Any            # keras.Model: features -> probabilities (layers shared with the model)
    cut_layer: str


def _is_frozen_and_deterministic(layer: Any) -> bool:
    kind = type(layer).__name__
    if kind in RANDOM_LAYERS or kind.startswith("Random"):
        return False
    return not layer.trainable_weights


def plan(model: Any) -> tuple[CachePlan | None, str]:
    """The deepest valid cut of `model`, or None and why not."""
    import keras

    candidates = []
    for layer in model.layers[:-1]:
        if not _is_frozen_and_deterministic(layer):
            break
        candidates.append(layer)
    if not any(layer.weights for layer in candidates):
        return None, "no frozen layers with weights at the start of the model"
    for index in range(len(candidates) - 1, -1, -1):
        layer = candidates[index]
        if not any(prior.weights for prior in candidates[: index + 1]):
            break
        try:
            head = keras.Model(layer.output, model.output, name="head")
        except ValueError:  # other tensors cross the cut (e.g. a residual branch)
            continue
        prefix = keras.Model(model.input, layer.output, name="frozen_prefix")
        return CachePlan(prefix, head, layer.name), f"frozen prefix up to '{layer.name}'"
    return None, "the frozen layers have no single output to cut at"


class FeatureStore:
    """Features of the last (dataset, frozen prefix) pair, kept in memory between trainings."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._features: dict[str, np.ndarray] = {}

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        return self._features if key == self._key else None

    def put(self, key: str, features: dict[str, np.ndarray]) -> None:
        self._key, self._features = key, features

    def clear(self) -> None:
        self._key, self._features = None, {}


STORE = FeatureStore()


def cache_key(plan_: CachePlan, dataset: Any, batch_size: int) -> str:
    """Changes whenever the frozen part (structure or weights), the data or its split changes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(plan_.cut_layer.encode())
    for layer in plan_.prefix.layers:
        digest.update(type(layer).__name__.encode())
        digest.update(repr(sorted(layer.get_config().items(), key=lambda kv: kv[0])).encode())
    for weight in plan_.prefix.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val):
        digest.update(repr(array.shape).encode())
        step = max(1, len(array) // 256)
        digest.update(np.ascontiguousarray(array[::step]).tobytes())
    digest.update(dataset.name.encode())
    return digest.hexdigest()


def feature_bytes(plan_: CachePlan, samples: int) -> int:
    shape = plan_.prefix.output.shape[1:]
    return int(np.prod(shape)) * samples * 4


def extract(plan_: CachePlan, dataset: Any, batch_size: int, cancel: Any = None) -> dict[str, np.ndarray]:
    """Run the prefix once over train and validation data (float16 when that is needed to fit)."""
    import tensorflow as tf

    samples = len(dataset.x_train) + len(dataset.x_val)
    half = feature_bytes(plan_, samples) > memory_limit_bytes() // 2
    forward = tf.function(lambda x: plan_.prefix(x, training=False), reduce_retracing=True)
    features: dict[str, np.ndarray] = {}
    for split in ("train", "validation"):
        chunks = []
        # Inference only: bigger batches than training's run the frozen part faster.
        for images, _ in dataset.tf_dataset(split, max(batch_size, EXTRACTION_BATCH)):
            if cancel is not None and cancel.cancelled:
                raise InterruptedError("cancelled while extracting features")
            out = forward(images)
            chunks.append(np.asarray(out, np.float16 if half else np.float32))
        features[split] = np.concatenate(chunks) if chunks else np.zeros((0,) + tuple(plan_.prefix.output.shape[1:]), np.float32)
    return features
