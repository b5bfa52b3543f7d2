"""The frozen-feature cache: compute a frozen, deterministic prefix once, train only the rest.

When the first part of a model has no trainable weights and no randomness (no dropout, no noise,
no augmentation in front of it), its output for a given image never changes during training.
We cut the model at the deepest such tensor that is the only link between the two parts, run
the prefix once over the data, and train the remaining head on those features. The head shares
its layers with the full model, so the full model is trained and saved as usual.

Where the features are kept is the caller's `engine.caches.features.FeatureCache`; extraction
streams the data batch by batch (a folder is decoded on the way, in parallel), so neither the
images nor, beyond the memory budget, the features are ever all in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from engine.architectures.outputs import output_layer
from engine.caches.features import FeatureCache, FeatureSet
from engine.core.cancel import Cancelled
from engine.core.memory import inference_batch
from engine.runtime.graphs import compiled_call

RANDOM_LAYERS = {
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
}

Progress = Callable[[int, int, int, int], None]  # (done, total, decoded, skipped)


@dataclass
class CachePlan:
    prefix: Any  # keras.Model: image -> features
    head: Any  # keras.Model: features -> probabilities (layers shared with the model)
    cut_layer: str
    # keras.Model: features -> [penultimate features, probabilities], what the insight figures
    # need from the head (a model cut out of another cannot be cut again, so it is made here)
    head_features: Any = None


def _is_frozen_and_deterministic(layer: Any) -> bool:
    kind = type(layer).__name__
    if kind in RANDOM_LAYERS or kind.startswith("Random"):
        return False
    return not layer.trainable_weights


def plan(model: Any) -> tuple[CachePlan | None, str]:
    """The deepest valid cut of `model`, or None and why not."""

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
        penultimate = output_layer(model).input
        head_features = (
            keras.Model(head.input, [head.input, head.output], name="head_features")
            if penultimate is layer.output  # the cut is the penultimate layer itself
            else keras.Model(layer.output, [penultimate, model.output], name="head_features")
        )
        return CachePlan(prefix, head, layer.name, head_features), f"frozen prefix up to '{layer.name}'"
    return None, "the frozen layers have no single output to cut at"


def prefix_digest(plan_: CachePlan) -> str:
    """Changes whenever the frozen part changes: its layers, their settings, their weights."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(plan_.cut_layer.encode())
    for layer in plan_.prefix.layers:
        digest.update(type(layer).__name__.encode())
        digest.update(repr(sorted(layer.get_config().items(), key=lambda kv: kv[0])).encode())
    for weight in plan_.prefix.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()


def feature_key(prefix: str, dataset: Any, dtype: np.dtype) -> str:
    """The cache key of one set: frozen part, data (files or arrays, labels, split) and precision."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (prefix, dataset.fingerprint(), np.dtype(dtype).str):
        digest.update(part.encode())
    return digest.hexdigest()


def row_shape(plan_: CachePlan) -> tuple[int, ...]:
    return tuple(int(d) for d in plan_.prefix.output.shape[1:])


def feature_bytes(plan_: CachePlan, samples: int) -> int:
    """Bytes of `samples` rows of features in float32."""
    return int(np.prod(row_shape(plan_))) * samples * 4


def extract(
    plan_: CachePlan,
    dataset: Any,
    cache: FeatureCache,
    prefix: str,
    dtype: np.dtype,
    *,
    cancel: Any = None,
    progress: Progress | None = None,
) -> FeatureSet:
    """Run the prefix once over the training and validation data, batch by batch, into `cache`.

    A folder's images are decoded (or read from the image cache) on the way, ahead of the forward
    passes; files found unreadable are dropped from the dataset, so the features stay aligned with
    its labels. Raises `Cancelled` when `cancel` is set (nothing is kept),
    `FeatureOverflow` when float16 was asked for and the values do not fit it.
    """

    sizes = {"train": len(dataset.y_train), "validation": len(dataset.y_val)}
    writer = cache.writer(sizes, row_shape(plan_), dtype)
    forward = compiled_call(plan_.prefix, cast_to_float=True)
    total, done, decoded, skipped = sum(sizes.values()), 0, 0, 0
    try:
        for split in sizes:
            for batch in dataset.batches(split, inference_batch(dataset.input_shape), cancel=cancel):
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("cancelled while extracting features")
                if len(batch.images):
                    writer.append(split, np.asarray(forward(batch.images)))
                done, decoded, skipped = (
                    done + len(batch.images) + batch.skipped,
                    decoded + batch.decoded,
                    skipped + batch.skipped,
                )
                if progress is not None:
                    progress(done, total, decoded, skipped)
        return writer.finish(feature_key(prefix, dataset, dtype))
    except BaseException:
        writer.abort()
        raise
