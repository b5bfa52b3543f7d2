"""ImageNet backbones from `keras.applications` with a new classifier head.

The application is built on LayerLab's own input (`input_tensor=`), so its layers become layers
of the returned model (not a nested sub-model) and each can be frozen by name. In front of it:
"resize" (only when the image is smaller than the network's minimum side), "to_rgb" (grayscale
repeated to three channels) and "preprocess" (the application's `preprocess_input` as an
`ImagenetPreprocess` layer), so the saved model takes plain 0..255 pixels.

Head: "head_pool" (GlobalAveragePooling2D) or "head_flatten" → "head_dense" → ["head_bn"] →
"head_act" → ["head_dropout"] → "predictions" (float32 softmax).

Freezing at build time: `freeze_base` freezes every base layer; `fine_tune_last=N` then makes
the base's last N layers with weights trainable again. A frozen BatchNormalization runs in
inference mode in Keras 3, as fine-tuning needs.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass

import keras
from keras.src.utils.naming import to_snake_case

from engine.architectures.blocks import INPUT_LAYERS
from engine.architectures.common import activation_layer, check_dense, flat_size, image_input, output_layer
from engine.architectures.preprocessing import ImagenetPreprocess
from engine.architectures.registry import builder, get_architecture
from engine.architectures.weights import resolve_weights
from engine.core.errors import ArchitectureError

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class BackboneSpec:
    application: str  # attribute of keras.applications
    preprocess: str  # ImagenetPreprocess mode, as the application's preprocess_input
    kwargs: tuple[tuple[str, object], ...] = ()


SPECS: dict[str, BackboneSpec] = {
    "vgg16_imagenet": BackboneSpec("VGG16", "caffe"),
    "resnet50": BackboneSpec("ResNet50", "caffe"),
    "mobilenet_v2": BackboneSpec("MobileNetV2", "tf", (("alpha", 1.0),)),
    "inception_v3": BackboneSpec("InceptionV3", "tf"),
    "efficientnet_b0": BackboneSpec("EfficientNetB0", "none"),  # rescales and normalises itself
}


def _is_auto_named(layer: keras.layers.Layer) -> bool:
    base = to_snake_case(type(layer).__name__)
    return re.fullmatch(rf"{re.escape(base)}(_\d+)?", layer.name) is not None


def _stable_names(arch: str, layers: list[keras.layers.Layer]) -> None:
    """Rename the layers Keras named automatically ("conv2d_57"), whose numbers depend on what
    was built earlier in the session, to "<block>_<kind>_<n>" counted within this model.

    Inception's unnamed convolutions get the block of the "mixedN" merge they lead to, or
    "stem" for the chain before the first branching; elsewhere (EfficientNet's Rescaling and
    Normalization) the few unnamed layers sit in the stem.
    """
    taken = {layer.name for layer in layers}
    counts: dict[str, int] = defaultdict(int)
    pending: list[keras.layers.Layer] = []

    def flush(block_name: str) -> None:
        for layer in pending:
            kind = to_snake_case(type(layer).__name__)
            counts[(block_name, kind)] += 1
            name = f"{block_name}_{kind}_{counts[(block_name, kind)]}"
            while name in taken:
                name += "_"
            taken.discard(layer.name)
            layer.name = name
            taken.add(name)
        pending.clear()

    in_stem = True
    for layer in layers:
        if layer.name in INPUT_LAYERS or isinstance(layer, keras.layers.InputLayer):
            continue
        if _is_auto_named(layer):
            pending.append(layer)
        if arch != "inception_v3":
            continue
        if in_stem and len(layer._outbound_nodes) > 1:
            # Inception's stem is a chain; the first layer feeding several branches ends it.
            flush("stem")
            in_stem = False
        elif re.fullmatch(r"mixed\d+", layer.name):
            flush(layer.name)
    flush("stem" if arch != "inception_v3" else "top")


def _backbone_input(arch: str, input_shape: Shape, min_size: int):
    """image → [resize up to the minimum side] → [grey to RGB] → preprocessing."""
    h, w, c = input_shape
    inputs = image_input(input_shape)
    x = inputs
    if h < min_size or w < min_size:
        x = keras.layers.Resizing(max(h, min_size), max(w, min_size), name="resize")(x)
    if c == 1:
        x = keras.layers.Concatenate(axis=-1, name="to_rgb")([x, x, x])
    mode = SPECS[arch].preprocess
    if mode != "none":
        x = ImagenetPreprocess(mode, name="preprocess")(x)
    return inputs, x


def build_backbone(
    arch: str,
    input_shape: Shape,
    num_classes: int,
    *,
    weights: str = "imagenet",
    pooling: str = "avg",
    head_units: int = 256,
    dropout: bool = True,
    dropout_rate: float = 0.5,
    batchnorm: bool = False,
    activation: str = "relu",
    freeze_base: bool = True,
    fine_tune_last: int = 0,
) -> keras.Model:
    """A Keras application (without its top) on LayerLab's input, plus a new head."""
    info = get_architecture(arch)
    spec = SPECS[arch]
    inputs, x = _backbone_input(arch, input_shape, info.min_image_size)
    side = int(x.shape[1]) if int(x.shape[1]) == int(x.shape[2]) else 0
    weights_arg = resolve_weights(arch, weights, side)
    application = getattr(keras.applications, spec.application)
    try:
        base = application(include_top=False, weights=weights_arg, input_tensor=x, **dict(spec.kwargs))
    except ArchitectureError:
        raise
    except Exception as err:
        text = " ".join(str(err).split())
        source = (
            "ImageNet weights"
            if weights_arg == "imagenet"
            else f"weights {weights_arg}"
            if weights_arg
            else "random weights"
        )
        raise ArchitectureError(f"cannot build {arch} with {source}: {text}") from None
    base_layers = [
        layer
        for layer in base.layers
        if layer.name not in INPUT_LAYERS and not isinstance(layer, keras.layers.InputLayer)
    ]
    _stable_names(arch, base_layers)

    y = base.output
    if pooling == "avg":
        y = keras.layers.GlobalAveragePooling2D(name="head_pool")(y)
    else:
        y = keras.layers.Flatten(name="head_flatten")(y)
        check_dense(arch, flat_size(y), head_units, input_shape)
    y = keras.layers.Dense(head_units, use_bias=not batchnorm, name="head_dense")(y)
    if batchnorm:
        y = keras.layers.BatchNormalization(name="head_bn")(y)
    y = activation_layer(activation, "head_act")(y)
    if dropout:
        y = keras.layers.Dropout(dropout_rate, name="head_dropout")(y)
    model = keras.Model(inputs, output_layer(y, num_classes), name=arch)

    if freeze_base:
        for layer in base_layers:
            layer.trainable = False
        if fine_tune_last > 0:
            for layer in [layer for layer in base_layers if layer.weights][-fine_tune_last:]:
                layer.trainable = True
    return model


def _register(arch: str) -> None:
    """Register `build_backbone` with `arch` bound: the registry reads the remaining keywords."""
    builder(arch)(functools.partial(build_backbone, arch))


for _arch in SPECS:
    _register(_arch)
