"""Presets built from scratch: small classic networks for digits, MNIST and CIFAR.

Each builder takes the input shape, the class count and keyword options (`dropout`,
`dropout_rate`, `batchnorm`, `activation`) and returns a functional model that scales 0..255
pixels itself (`Rescaling(1/255)`, layer "rescale") and ends in a float32 softmax
("predictions"). Hidden layers are Conv/Dense (no activation) → [BatchNorm] → Activation, so the
batch-norm toggle slots in before the nonlinearity.
"""

from __future__ import annotations

import keras

from engine.architectures.common import (
    Names,
    activation_layer,
    check_dense,
    flat_size,
    image_input,
    output_layer,
    pool_size_for,
)
from engine.architectures.registry import builder

# Moving statistics that settle within a few dozen steps (PyTorch's default; Keras's 0.99 needs
# hundreds). LayerLab's datasets are often small: with 0.99, a bn_cnn trained for 30 steps on a
# photo folder validates with mostly its initial statistics and looks wrongly bad.
BN_MOMENTUM = 0.9

Shape = tuple[int, int, int]


def _hidden(x, layer: keras.layers.Layer, n: Names, *, batchnorm: bool, activation: str):
    """layer → [BatchNorm] → activation; bias is dropped when batch norm follows (it cancels)."""
    x = layer(x)
    if batchnorm:
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=n("bn"))(x)
    return activation_layer(activation, n("act"))(x)


def _conv(filters: int, kernel: int, stride: int, name: str, batchnorm: bool) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=not batchnorm, name=name)


def _dense(units: int, name: str, batchnorm: bool) -> keras.layers.Dense:
    return keras.layers.Dense(units, use_bias=not batchnorm, name=name)


def _start(input_shape: Shape) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inputs = image_input(input_shape)
    return inputs, keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)


@builder("mlp")
def build_mlp(
    input_shape: Shape,
    num_classes: int,
    *,
    dropout: bool = True,
    dropout_rate: float = 0.5,
    batchnorm: bool = False,
    activation: str = "relu",
) -> keras.Model:
    """Flatten → Dense 512 → Dense 512 → softmax: the Keras MNIST MLP example."""
    n = Names()
    inputs, x = _start(input_shape)
    x = keras.layers.Flatten(name="flatten")(x)
    for _ in range(2):
        check_dense("mlp", flat_size(x), 512, input_shape)
        x = _hidden(x, _dense(512, n("dense"), batchnorm), n, batchnorm=batchnorm, activation=activation)
        if dropout:
            x = keras.layers.Dropout(dropout_rate, name=n("dropout"))(x)
    return keras.Model(inputs, output_layer(x, num_classes), name="mlp")


@builder("naive_cnn")
def build_naive_cnn(
    input_shape: Shape,
    num_classes: int,
    *,
    dropout: bool = True,
    dropout_rate: float = 0.5,
    batchnorm: bool = False,
    activation: str = "relu",
) -> keras.Model:
    """Conv 10@4×4/2 → Conv 20@3×3/2 → Flatten → [Dropout] → softmax.

    "same" padding keeps stride 2 working on any input, 8×8 digits included.
    """
    n = Names()
    inputs, x = _start(input_shape)
    x = _hidden(x, _conv(10, 4, 2, n("conv"), batchnorm), n, batchnorm=batchnorm, activation=activation)
    x = _hidden(x, _conv(20, 3, 2, n("conv"), batchnorm), n, batchnorm=batchnorm, activation=activation)
    x = keras.layers.Flatten(name="flatten")(x)
    check_dense("naive_cnn", flat_size(x), num_classes, input_shape)
    if dropout:
        x = keras.layers.Dropout(dropout_rate, name=n("dropout"))(x)
    return keras.Model(inputs, output_layer(x, num_classes), name="naive_cnn")


@builder("bn_cnn")
def build_bn_cnn(
    input_shape: Shape,
    num_classes: int,
    *,
    dropout: bool = True,
    dropout_rate: float = 0.5,
    batchnorm: bool = True,
    activation: str = "relu",
) -> keras.Model:
    """4 × (Conv 3×3 → BN → LeakyReLU), filters 32, 32, 64, 64, strides 1, 2, 1, 2 →
    Dense 128 → BN → LeakyReLU → Dropout → softmax.

    Designed around LeakyReLU: the default activation "relu" means LeakyReLU here; any other
    choice is used as is. `batchnorm=False` removes the BN layers.
    """
    act = "leaky_relu" if activation == "relu" else activation
    n = Names()
    inputs, x = _start(input_shape)
    for filters, stride in ((32, 1), (32, 2), (64, 1), (64, 2)):
        x = _hidden(x, _conv(filters, 3, stride, n("conv"), batchnorm), n, batchnorm=batchnorm, activation=act)
    x = keras.layers.Flatten(name="flatten")(x)
    check_dense("bn_cnn", flat_size(x), 128, input_shape)
    x = _hidden(x, _dense(128, n("dense"), batchnorm), n, batchnorm=batchnorm, activation=act)
    if dropout:
        x = keras.layers.Dropout(dropout_rate, name=n("dropout"))(x)
    return keras.Model(inputs, output_layer(x, num_classes), name="bn_cnn")


@builder("cifar_cnn")
def build_cifar_cnn(
    input_shape: Shape,
    num_classes: int,
    *,
    dropout: bool = True,
    dropout_rate: float = 0.5,
    batchnorm: bool = False,
    activation: str = "relu",
) -> keras.Model:
    """The Keras CIFAR-10 example: 3 × (two Conv 3×3 → MaxPool 2×2 → Dropout 0.25) with 32, 64,
    64 filters, then Flatten → Dense 512 → Dropout(`dropout_rate`) → softmax.

    Convolutions use "same" padding and a block skips its pooling once the feature map is one
    pixel wide, so 8×8 digits still build ("pool_N" layers may then be missing).
    """
    n = Names()
    inputs, x = _start(input_shape)
    for block, filters in enumerate((32, 64, 64), start=1):
        for _ in range(2):
            x = _hidden(x, _conv(filters, 3, 1, n("conv"), batchnorm), n, batchnorm=batchnorm, activation=activation)
        size = pool_size_for(x)
        if size:
            x = keras.layers.MaxPooling2D(size, name=f"pool_{block}")(x)
        if dropout:
            x = keras.layers.Dropout(0.25, name=n("dropout"))(x)
    x = keras.layers.Flatten(name="flatten")(x)
    check_dense("cifar_cnn", flat_size(x), 512, input_shape)
    x = _hidden(x, _dense(512, n("dense"), batchnorm), n, batchnorm=batchnorm, activation=activation)
    if dropout:
        x = keras.layers.Dropout(dropout_rate, name=n("dropout"))(x)
    return keras.Model(inputs, output_layer(x, num_classes), name="cifar_cnn")


VGG16_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


@builder("vgg16")
def build_vgg16(
    input_shape: Shape,
    num_classes: int,
    *,
    dropout: bool = True,
    dropout_rate: float = 0.5,
    batchnorm: bool = False,
    activation: str = "relu",
    width: float = 1.0,
    dense_units: int | None = None,
) -> keras.Model:
    """VGG16's topology trained from scratch: 13 Conv 3×3 in 5 blocks (64, 64 | 128, 128 |
    256 ×3 | 512 ×3 | 512 ×3) each ending in MaxPool 2×2, then fc1, fc2 → softmax.

    Adapted to small images: a block skips its pooling once the map is one pixel wide, and the
    dense layers have 4096 units only for inputs of 64 px and more (else 512, as in the usual
    CIFAR VGG variants); `dense_units` overrides that. `width` scales every filter and unit
    count. Names follow Keras: block1_conv1, block1_pool, fc1, fc2 (plus blockB_bnI/blockB_actI).
    """
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    if dense_units is None:
        dense_units = 4096 if min(input_shape[:2]) >= 64 else 512
    units = max(1, round(dense_units * width))
    inputs, x = _start(input_shape)
    for b, (filters, convs) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, convs + 1):
            x = keras.layers.Conv2D(
                max(1, round(filters * width)), 3, padding="same", use_bias=not batchnorm, name=f"block{b}_conv{i}"
            )(x)
            if batchnorm:
                x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{b}_bn{i}")(x)
            x = activation_layer(activation, f"block{b}_act{i}")(x)
        size = pool_size_for(x)
        if size:
            x = keras.layers.MaxPooling2D(size, name=f"block{b}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for k in (1, 2):
        check_dense("vgg16", flat_size(x), units, input_shape)
        x = keras.layers.Dense(units, use_bias=not batchnorm, name=f"fc{k}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"fc{k}_bn")(x)
        x = activation_layer(activation, f"fc{k}_act")(x)
        if dropout:
            x = keras.layers.Dropout(dropout_rate, name=f"fc{k}_dropout")(x)
    return keras.Model(inputs, output_layer(x, num_classes), name="vgg16")
