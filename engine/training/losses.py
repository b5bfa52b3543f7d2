"""Cross-entropy with label smoothing for integer labels, and the views of test-time augmentation.

Keras's sparse cross-entropy has no label smoothing; this loss one-hot encodes the labels and
smooths them (target 1 − s + s/K for the class, s/K for the others), so a network is not pushed to
ever more confident outputs. Registered, so a saved model that names it loads.
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf

from engine.config import Augmentation
from engine.runtime.graphs import compiled_call


@keras.saving.register_keras_serializable(package="layerlab")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    def __init__(self, label_smoothing: float = 0.1, name: str = "smoothed_sparse_crossentropy", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        classes = keras.ops.shape(y_pred)[-1]
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        targets = keras.ops.one_hot(labels, classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(targets, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def tta_flips(augmentation: Augmentation, enabled: bool) -> list[tuple[bool, bool]]:
    """The (horizontal, vertical) mirrorings averaged at evaluation: the image itself, then the
    flips the training's augmentation uses (when test-time augmentation is on)."""
    views = [(False, False)]
    if enabled and augmentation.flip in ("horizontal", "both"):
        views.append((True, False))
    if enabled and augmentation.flip in ("vertical", "both"):
        views.append((False, True))
    return views


def averaged_forward(model: Any, flips: list[tuple[bool, bool]]) -> Any:
    """A `tf.function` giving the model's outputs (inference mode) averaged over `flips` of a batch.

    The image alone is `compiled_call` (traced once per model); several views are a function of
    their own per model too (a partial, not a closure: TensorFlow counts the traces of every
    function made from one piece of code together, and warned of "retracing" after five models)."""
    views = tuple(flips) or ((False, False),)
    if views == ((False, False),):
        return compiled_call(model)
    return tf.function(functools.partial(_averaged, model, views), reduce_retracing=True)


def _averaged(model: Any, flips: tuple[tuple[bool, bool], ...], x: Any) -> Any:
    outputs = []
    for horizontal, vertical in flips:
        view = tf.reverse(x, axis=[2]) if horizontal else x
        view = tf.reverse(view, axis=[1]) if vertical else view
        outputs.append(model(view, training=False))
    if isinstance(outputs[0], (list, tuple, dict)):  # several outputs: the image alone
        return outputs[0]
    return tf.add_n(outputs) / float(len(outputs))
