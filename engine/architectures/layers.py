"""The layers of a model as a table, per-layer freezing, and exact parameter counts.

Freezing sets `layer.trainable`; like everything about trainability in Keras it takes effect at
the next `model.compile()`. A frozen BatchNormalization layer also runs in inference mode (its
moving statistics stay put), which is what fine-tuning needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras

import engine.architectures.preprocessing  # noqa: F401  (registers LayerLab's custom layers)
from engine.architectures.blocks import block_of
from engine.core.errors import ConfigError


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer table."""

    name: str
    kind: str  # class name ("Conv2D"); "Input" for the input layer
    output_shape: str  # "16×16×32", batch dimension left out
    params: int
    trainable: bool
    trainable_params: int
    block: str | None
    has_weights: bool


def _size(weights) -> int:
    seen: set[int] = set()
    total = 0
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += math.prod(int(d) for d in w.shape)
    return total


def _shape_text(layer: keras.layers.Layer) -> str:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return "?"
    if isinstance(shape, list):  # pragma: no cover - multi-output layers are not used here
        shape = shape[0]
    return "×".join("?" if d is None else str(d) for d in tuple(shape)[1:])


def layer_table(model: keras.Model, arch_name: str | None = None) -> list[LayerInfo]:
    """Every layer of `model` in order, the input layer included (kind "Input", 0 params).

    `arch_name` picks the block rules; by default the model's name, which `build_model` sets to
    the architecture name.
    """
    arch = arch_name or model.name
    rows = []
    for layer in model.layers:
        kind = "Input" if isinstance(layer, keras.layers.InputLayer) else type(layer).__name__
        params = _size(layer.weights)
        rows.append(
            LayerInfo(
                name=layer.name,
                kind=kind,
                output_shape=_shape_text(layer),
                params=params,
                trainable=bool(layer.trainable),
                trainable_params=_size(layer.trainable_weights),
                block=block_of(layer.name, arch),
                has_weights=params > 0,
            )
        )
    return rows


def apply_freezing(model: keras.Model, layer_trainable: dict[str, bool], freeze_all_but: int | None) -> None:
    """Set which layers train; takes effect at the next `model.compile()`.

    First, when `freeze_all_but` is N (not None), every layer that has weights is frozen except
    the last N of them, which are made trainable (N=0 freezes them all). Then `layer_trainable`
    overrides single layers by name. An unknown name raises `ConfigError` before anything
    changes.
    """
    by_name = {layer.name: layer for layer in model.layers}
    unknown = [name for name in layer_trainable if name not in by_name]
    if unknown:
        names = list(by_name)
        shown = ", ".join(names[:25]) + (f", ... ({len(names)} layers)" if len(names) > 25 else "")
        raise ConfigError(f"no layer named {unknown[0]!r} in this model (it has: {shown})")
    if freeze_all_but is not None:
        if freeze_all_but < 0:
            raise ConfigError(f"freeze_all_but must be 0 or more, got {freeze_all_but}")
        with_weights = [layer for layer in model.layers if layer.weights]
        first_trainable = len(with_weights) - freeze_all_but
        for i, layer in enumerate(with_weights):
            layer.trainable = i >= first_trainable
    for name, trainable in layer_trainable.items():
        by_name[name].trainable = bool(trainable)


def param_counts(model: keras.Model) -> tuple[int, int]:
    """(trainable, non-trainable) weight counts, as `model.summary()` reports them."""
    return _size(model.trainable_weights), _size(model.non_trainable_weights)
