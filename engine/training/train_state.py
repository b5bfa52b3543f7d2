"""The state a training needs to go on after an epoch, as plain NumPy arrays: captured from Keras
objects, and put back into freshly built ones.

What is kept: every variable of every layer of the model (weights, batch-norm statistics, and the
seed-generator states of dropout layers, so the same masks follow), the optimizer's variables
(iteration count, moments: Adam goes on without the loss spike of a fresh optimizer), and the
seed-generator states of the augmentation layers of the data pipeline. Layers are matched by
name and each variable by its place and shape, so a fork may change dropout rates, freezing or
augmentation but not the layers that carry weights. The learning rate is never restored: it
comes from the config and its schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from engine.core.errors import ConfigError
from engine.runs.checkpoints import TrainingState

__all__ = ["TrainingState", "capture", "restore_augmentation", "restore_model", "restore_optimizer"]


def capture(
    model: Any, fitted: Any, augmentation: Iterable[Any] = ()
) -> tuple[str, list[dict[str, Any]], list[np.ndarray]]:
    """(optimizer class, entries, arrays) of `model`'s layers, `fitted`'s optimizer (the model
    `fit` runs: the model itself, or its head on cached features) and the augmentation layers."""
    entries: list[dict[str, Any]] = []
    arrays: list[np.ndarray] = []

    def add(kind: str, variable: Any, **where: Any) -> None:
        value = np.asarray(variable.numpy())
        entries.append({"kind": kind, **where, "shape": list(value.shape), "dtype": value.dtype.str})
        arrays.append(value)

    for kind, layers in (("model", model.layers), ("augmentation", augmentation)):
        for layer in layers:
            for index, variable in enumerate(layer.variables):
                add(kind, variable, layer=layer.name, index=index)
    optimizer = getattr(fitted, "optimizer", None)
    if optimizer is not None and optimizer.built:
        for variable in optimizer.variables:
            add("optimizer", variable, path=variable.path)
    return (type(optimizer).__name__ if optimizer is not None else ""), entries, arrays


def restore_model(model: Any, state: TrainingState) -> None:
    """Put the checkpoint's layer variables into `model`; `ConfigError` when a layer with weights
    is missing from the checkpoint or has other shapes (seed states are restored where they fit)."""
    saved = _by_layer(state, "model")
    for layer in model.layers:
        weights = {id(w) for w in layer.weights}
        mine = saved.get(layer.name, {})
        for index, variable in enumerate(layer.variables):
            found = mine.get(index)
            if found is not None and tuple(found.shape) == tuple(variable.shape):
                variable.assign(found)
            elif id(variable) in weights:
                raise ConfigError(
                    f"the checkpoint of epoch {state.epoch + 1} does not fit this model: layer "
                    f"'{layer.name}' {'has other weights' if layer.name in saved else 'is not in it'}; "
                    "a resumed or forked run keeps the layers that carry weights"
                )


def restore_augmentation(layers: Iterable[Any], state: TrainingState) -> None:
    """The augmentation layers' random states, where names and shapes still match."""
    saved = _by_layer(state, "augmentation")
    for layer in layers:
        for index, variable in enumerate(layer.variables):
            found = saved.get(layer.name, {}).get(index)
            if found is not None and tuple(found.shape) == tuple(variable.shape):
                variable.assign(found)


def restore_optimizer(fitted: Any, state: TrainingState) -> str:
    """Build `fitted`'s optimizer and give it the checkpoint's state; "" when restored, else why
    not (another optimizer, or other trainable variables: then it starts fresh)."""
    optimizer = fitted.optimizer
    if not optimizer.built:
        optimizer.build(fitted.trainable_variables)
    saved = [(e, a) for e, a in zip(state.entries, state.arrays) if e["kind"] == "optimizer"]
    if type(optimizer).__name__ != state.optimizer:
        return f"fresh optimizer state: the checkpoint's is {state.optimizer or 'missing'}"
    variables = list(optimizer.variables)
    if len(variables) != len(saved) or any(tuple(v.shape) != tuple(a.shape) for v, (_, a) in zip(variables, saved)):
        return "fresh optimizer state: the trainable layers changed"
    for variable, (entry, array) in zip(variables, saved):
        if not entry["path"].endswith("learning_rate"):  # the rate comes from the config
            variable.assign(array)
    return ""


def _by_layer(state: TrainingState, kind: str) -> dict[str, dict[int, np.ndarray]]:
    saved: dict[str, dict[int, np.ndarray]] = {}
    for entry, array in zip(state.entries, state.arrays):
        if entry["kind"] == kind:
            saved.setdefault(entry["layer"], {})[int(entry["index"])] = array
    return saved
