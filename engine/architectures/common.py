"""Keras pieces shared by the builders: explicit layer names, activations, the output layer.

Layer names are explicit and numbered per kind ("conv_1", "bn_1", "act_1") rather than left to
Keras, whose automatic names depend on what was built before in the same session; users freeze
layers by name and configs store those names, so they must not drift.
"""

from __future__ import annotations

from collections import defaultdict

import keras

from engine.architectures.registry import MAX_DENSE_WEIGHTS
from engine.core.errors import ArchitectureError


class Names:
    """Hands out "kind_1", "kind_2"... in build order."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = defaultdict(int)

    def __call__(self, kind: str) -> str:
        self._counts[kind] += 1
        return f"{kind}_{self._counts[kind]}"


def activation_layer(activation: str, name: str) -> keras.layers.Layer:
    """A separate activation layer, so batch normalisation can sit before it."""
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(name=name)
    if activation not in ("relu", "elu", "tanh", "sigmoid", "swish"):
        raise ArchitectureError(f"unknown activation {activation!r}")
    return keras.layers.Activation(activation, name=name)


def image_input(input_shape: tuple[int, int, int]) -> keras.KerasTensor:
    return keras.Input(shape=input_shape, name="image", dtype="float32")


def output_layer(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    """Softmax kept in float32 so mixed precision still yields float32 probabilities."""
    return keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)


def check_dense(arch: str, in_features: int, units: int, input_shape: tuple[int, int, int]) -> None:
    """Refuse a dense layer too big to allocate, before Keras tries to."""
    weights = int(in_features) * int(units)
    if weights > MAX_DENSE_WEIGHTS:
        h, w, c = input_shape
        raise ArchitectureError(
            f"{arch} on {h}×{w}×{c} images needs a dense layer of {weights / 1e6:.0f} million weights "
            f"({in_features} inputs × {units}); use smaller images or a convolutional preset"
        )


def flat_size(x: keras.KerasTensor) -> int:
    size = 1
    for dim in x.shape[1:]:
        size *= int(dim)
    return size


def pool_size_for(x: keras.KerasTensor) -> tuple[int, int] | None:
    """A 2×2 pool, shrunk to 1 along a side already 1 pixel wide; None when both are."""
    h, w = int(x.shape[1]), int(x.shape[2])
    size = (2 if h >= 2 else 1, 2 if w >= 2 else 1)
    return None if size == (1, 1) else size
