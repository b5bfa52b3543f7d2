"""Which block of an architecture a layer belongs to, from its name alone (cheap, no Keras).

The layer table groups layers by block so a user can freeze "conv4" of ResNet50 at once; the
rules follow the layer names Keras gives each application.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Layers LayerLab adds in front of a backbone (resizing, grey→RGB, its preprocessing).
INPUT_LAYERS = frozenset({"image", "rescale", "resize", "to_rgb", "preprocess"})
HEAD_PREFIX = "head_"
OUTPUT_LAYER = "predictions"


def _vgg(name: str) -> str | None:
    m = re.match(r"(block\d+)_", name)
    if m:
        return m.group(1)
    if name in ("flatten", OUTPUT_LAYER) or name.startswith("fc"):
        return "head"
    return None


def _resnet50(name: str) -> str | None:
    m = re.match(r"(conv\d+)_", name)
    if m:
        return m.group(1)
    if name.startswith("pool1"):
        return "conv1"
    return None


def _mobilenet_v2(name: str) -> str | None:
    m = re.match(r"block_(\d+)_", name)
    if m:
        return f"block_{m.group(1)}"
    if name.startswith("expanded_conv"):
        return "block_0"
    if name in ("Conv1", "bn_Conv1", "Conv1_relu"):
        return "Conv1"
    if name.startswith("Conv_1") or name == "out_relu":
        return "out_relu"
    return None


def _inception_v3(name: str) -> str | None:
    # Keras leaves Inception's convolutions unnamed; LayerLab names them "<block>_conv2d_N"
    # (see backbones._stable_names), and the merges are "mixedN" / "mixedN_0".
    m = re.match(r"(mixed\d+)", name)
    if m:
        return m.group(1)
    return "stem" if name.startswith("stem_") else None


def _efficientnet(name: str) -> str | None:
    m = re.match(r"block(\d)[a-z]_", name)
    if m:
        return f"block{m.group(1)}"
    if name.startswith("stem_"):
        return "stem"
    if name.startswith("top_"):
        return "top"
    return None


BLOCK_RULES: dict[str, Callable[[str], str | None]] = {
    "vgg16": _vgg,
    "vgg16_imagenet": _vgg,
    "resnet50": _resnet50,
    "mobilenet_v2": _mobilenet_v2,
    "inception_v3": _inception_v3,
    "efficientnet_b0": _efficientnet,
}


def block_of(layer_name: str, arch_name: str | None) -> str | None:
    """The block of `layer_name` in architecture `arch_name`, or None when it has none.

    Layers LayerLab puts before a network are in block "input", the classifier head in "head".
    """
    if layer_name in INPUT_LAYERS:
        return "input"
    if layer_name.startswith(HEAD_PREFIX) or layer_name == OUTPUT_LAYER:
        return "head"
    rule = BLOCK_RULES.get(arch_name or "")
    return rule(layer_name) if rule else None
