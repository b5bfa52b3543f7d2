"""Data augmentation with Keras preprocessing layers, applied to the training pipeline only.

Augmenting in the `tf.data` pipeline (not inside the model) keeps the saved model and its layer
names unchanged and inference untouched; validation and test data are never augmented.
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

from engine.config import Augmentation


def augmentation_layers(aug: Augmentation, seed: int = 0) -> list[Any]:
    """The Keras layers for the enabled transformations, in a fixed order."""

    layers: list[Any] = []
    if aug.flip != "none":
        mode = "horizontal_and_vertical" if aug.flip == "both" else aug.flip
        layers.append(keras.layers.RandomFlip(mode, seed=seed, name="augment_flip"))
    if aug.rotation:
        layers.append(
            keras.layers.RandomRotation(aug.rotation, fill_mode="reflect", seed=seed + 1, name="augment_rotation")
        )
    if aug.zoom:
        layers.append(keras.layers.RandomZoom(aug.zoom, fill_mode="reflect", seed=seed + 2, name="augment_zoom"))
    if aug.translation:
        layers.append(
            keras.layers.RandomTranslation(
                aug.translation, aug.translation, fill_mode="reflect", seed=seed + 3, name="augment_translation"
            )
        )
    if aug.contrast:
        layers.append(
            keras.layers.RandomContrast(aug.contrast, value_range=(0, 255), seed=seed + 4, name="augment_contrast")
        )
    return layers


def augment_dataset(ds: Any, aug: Augmentation, seed: int = 0) -> Any:
    """Map the augmentation over a batched `(images, labels)` dataset; unchanged when all are off."""
    layers = augmentation_layers(aug, seed)
    if not layers:
        return ds
    pipeline = _Pipeline(layers)
    augmented = ds.map(lambda x, y: (pipeline(x), y), num_parallel_calls=_parallel_calls())
    _LAYERS_OF[augmented] = tuple(layers)
    return augmented


def _parallel_calls() -> int | None:
    """Parallel, unless op determinism is on: then one call at a time, so the random layers' seed
    states advance batch after batch in order (TensorFlow's own rule does not reach a dataset
    nested in another's function, as `engine.training.shuffles` nests the training data)."""

    return None if tf_config.is_op_determinism_enabled() else tf.data.AUTOTUNE


# The random layers behind each augmented dataset: their seed states go into checkpoints, so a
# resumed run draws the same transformations it would have drawn.
_LAYERS_OF: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = weakref.WeakKeyDictionary()


def carry_layers(source: Any, derived: Any) -> Any:
    """`derived` (a dataset mapped from `source`) with `source`'s augmentation layers, so that a
    checkpoint of a training fed by `derived` still keeps their seed states."""
    layers = layers_of(source)
    if layers:
        _LAYERS_OF[derived] = layers
    return derived


def layers_of(ds: Any) -> tuple[Any, ...]:
    """The augmentation layers `augment_dataset` mapped over `ds` (none for other datasets)."""
    try:
        return _LAYERS_OF.get(ds, ())
    except TypeError:  # not weakly referenceable: not one of ours
        return ()


class _Pipeline:
    def __init__(self, layers: list[Any]) -> None:
        self.layers = layers

    def __call__(self, images: Any) -> Any:

        for layer in self.layers:
            images = layer(images, training=True)
        return tf.clip_by_value(images, 0.0, 255.0)


def preview(images: np.ndarray, aug: Augmentation, copies: int = 4, seed: int = 0) -> np.ndarray:
    """`copies` augmented versions of each image: uint8 array (len(images), copies, H, W, C)."""
    pipeline = _Pipeline(augmentation_layers(aug, seed))
    batch = np.repeat(np.asarray(images, np.float32)[:, None], copies, axis=1)
    flat = batch.reshape((-1,) + batch.shape[2:])
    out = np.asarray(pipeline(flat)) if pipeline.layers else flat
    return np.clip(out, 0, 255).astype(np.uint8).reshape(batch.shape)
