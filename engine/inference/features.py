"""The penultimate layer: the features a LayerLab model's softmax reads (TensorFlow inside the
functions that run a model).

Every LayerLab model ends in a Dense softmax named "predictions"; its input is the representation
the embedding view projects and the out-of-distribution score measures. One forward pass gives
both that and the probabilities, so nothing is computed twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from engine.architectures.outputs import output_layer
from engine.core.cancel import Cancelled
from engine.core.memory import inference_batch
from engine.runtime.graphs import compiled_call


def feature_model(model: Any) -> Any:
    """image → [penultimate features, probabilities], sharing the model's layers and weights."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    return keras.Model(model.inputs, [output_layer(model).input, model.output], name=f"{model.name}_features")


def _images(batch: Any) -> Any:
    """A batch as (images) whether it came as images alone or as (images, labels)."""
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def features_and_probabilities(model: Any, batches: Iterable[Any], cancel: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D) float32, probabilities (N, K) float64) over `batches` of float32 images
    0..255 (arrays or tensors; `(images, labels)` pairs, as `Dataset.tf_dataset` gives, work too)."""
    return dual_outputs(feature_model(model), batches, cancel)


def dual_outputs(dual: Any, batches: Iterable[Any], cancel: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """`features_and_probabilities` through a model that already gives [features, probabilities]
    (`feature_model`'s, or a frozen-feature cache plan's `head_features`)."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    forward = compiled_call(dual)
    features, probabilities = [], []
    for batch in batches:
        if cancel is not None and cancel.cancelled:
            raise Cancelled("cancelled")
        f, p = forward(tf.cast(_images(batch), tf.float32))
        features.append(np.asarray(f, np.float32).reshape(len(f), -1))
        probabilities.append(np.asarray(p, np.float64))
    if not features:
        width = int(np.prod(dual.outputs[0].shape[1:]))
        return np.zeros((0, width), np.float32), np.zeros((0, int(dual.outputs[1].shape[-1])), np.float64)
    return np.concatenate(features), np.concatenate(probabilities)


def penultimate_features(model: Any, images_batches: Iterable[Any]) -> np.ndarray:
    """The penultimate features (N, D) of every image in `images_batches`."""
    return features_and_probabilities(model, images_batches)[0]


def array_batches(images: np.ndarray, batch_size: int | None = None) -> Iterable[np.ndarray]:
    """float32 batches of a uint8 (or float) image array, without converting it all at once;
    by default as many per batch as `engine.core.memory.inference_batch` allows for their shape."""

    batch_size = batch_size or inference_batch(tuple(images.shape[1:]))
    for start in range(0, len(images), max(1, batch_size)):
        yield np.asarray(images[start : start + batch_size], np.float32)
