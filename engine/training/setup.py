"""A model ready to train as a config says, made in one place.

The trainer, the learning-rate finder and the search for label issues all train "the model the
config describes": built on the training device with the config's precision policy, started from
earlier weights when `init_from` names some, frozen as the config asks. They get it from here, so
a sweep or a cross-validation fold trains exactly what a training would.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras

from engine.architectures import build_model
from engine.architectures.h5_weights import copy_h5_weights
from engine.architectures.layers import apply_freezing
from engine.config import ExperimentConfig
from engine.core.errors import ConfigError
from engine.runs.folders import MODEL
from engine.runs.models import load_model_file
from engine.runtime import devices


@contextmanager
def precision_policy(config: ExperimentConfig) -> Iterator[None]:
    """Keras's global precision policy as the config says (mixed_float16 or float32) while the
    block runs, and whatever was in force before once it ends: training must not change it."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16" if config.training.mixed_precision else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def model_for_training(config: ExperimentConfig, dataset: Any, *, initialise: bool = True) -> tuple[Any, str]:
    """(the model, how its starting weights came: "" or a note for `Started.note`).

    Built under the device strategy's scope, so its variables live where training runs; within
    `precision_policy`, so its layers take the config's precision. `initialise=False` skips
    `init_from` (a checkpoint will bring every weight)."""
    with devices.strategy().scope():
        model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
    note = initialise_from(model, config.init_from) if config.init_from and initialise else ""
    apply_freezing(model, config.layer_trainable, config.freeze_all_but)
    return model, note


def initialise_from(model: Any, source: str) -> str:
    """Copy the weights of a saved run's model into `model`, layer by layer (same name and shapes).

    This is how a model trained earlier becomes the frozen base of a new experiment. An `.h5`
    file (published weights, e.g. VGG16's ImageNet file) is read by
    engine.architectures.h5_weights.
    """
    path = Path(source).expanduser()
    if path.suffix == ".h5":
        return copy_h5_weights(model, path)
    trained = load_model_file(path if path.suffix == ".keras" else path / MODEL)
    copied = 0
    for layer in model.layers:
        try:
            other = trained.get_layer(layer.name)
        except ValueError:
            continue
        mine, theirs = layer.get_weights(), other.get_weights()
        if mine and len(mine) == len(theirs) and all(a.shape == b.shape for a, b in zip(mine, theirs)):
            layer.set_weights(theirs)
            copied += 1
    if not copied:
        raise ConfigError(f"no layer of {path} matches this architecture (same name and weight shapes)")
    return f"started from {copied} layers of {path.name}"


def unfreeze_last(model: Any, count: int) -> None:
    """Make the last `count` frozen layers with weights trainable (BatchNorm stays frozen).

    BatchNorm layers keep running in inference mode, the usual advice when fine-tuning a
    pretrained base on a small dataset: their statistics would otherwise be overwritten.
    """
    unfrozen = 0
    for layer in reversed(model.layers):
        if unfrozen >= count:
            break
        if not layer.weights or layer.trainable or isinstance(layer, keras.layers.BatchNormalization):
            continue
        layer.trainable = True
        unfrozen += 1
