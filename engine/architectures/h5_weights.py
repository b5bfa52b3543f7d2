"""Published weights files (`.h5`) copied into a LayerLab model by layer name and shape.

The VGG16 lesson builds VGG16 layer by layer (the `vgg16` preset, whose layers carry Keras's
names: block1_conv1 … block5_conv3, fc1, fc2) and then loads the original ImageNet weights into
it: `config.init_from` may name such a file (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`
from Keras's cache), and every layer whose name and weight shapes match is copied; the others
keep their initial weights, and the note says how many were copied.

The file is read with h5py, never by executing anything, in the layout `keras.applications`
downloads (Keras 2's: `layer_names` and `weight_names` attributes, possibly under
`model_weights/`), which records each layer by its name. Keras 3's `.weights.h5` files record
layers by position ("conv2d_1"), not by name, and are refused with that reason (a run folder or
its `.keras` file carries the names).

Input scaling: VGG16's ImageNet weights expect "caffe" inputs (BGR, 0..255, the ImageNet mean
subtracted) while the scratch preset scales its RGB input to 0..1 ("rescale"). The copy folds
that preprocessing into block1_conv1 instead of changing the model: the kernel's input channels
are reversed and multiplied by 255, and the mean's contribution moves into the bias, so the
layer computes what the original computed on caffe inputs (exactly, except along the one-pixel
border, where "same" padding pads zeros in a different space). For grey inputs the three colour
kernels are summed, as if the grey image were repeated to RGB.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from engine.architectures.preprocessing import IMAGENET_MEAN_BGR
from engine.core.errors import ConfigError
from engine.core.files import printable_path

CAFFE_FIRST_LAYER = "block1_conv1"


def read_h5_weights(path: str | Path) -> dict[str, list[np.ndarray]]:
    """Layer name → its weight arrays, in the order Keras stores them (kernel, then bias)."""

    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            if "layer_names" in root.attrs:
                return _legacy_layout(root)
            if "layers" in root:
                raise ConfigError(
                    f"{printable_path(path)} is a Keras 3 weights file, which records layers by position, "
                    "not by name: start from the run folder or its .keras file instead"
                )
    except OSError as err:
        raise ConfigError(f"{printable_path(path)} is not a readable HDF5 weights file ({err})") from None
    raise ConfigError(f"{printable_path(path)} holds no Keras layer weights")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _legacy_layout(root: Any) -> dict[str, list[np.ndarray]]:
    weights = {}
    for name in map(_text, root.attrs["layer_names"]):
        group = root[name]
        arrays = [np.asarray(group[_text(w)]) for w in group.attrs.get("weight_names", [])]
        if arrays:
            weights[name] = arrays
    return weights


def fold_caffe_preprocessing(kernel: np.ndarray, bias: np.ndarray, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A first-convolution kernel (kh, kw, 3, out) trained on caffe inputs (BGR 0..255 minus the
    ImageNet mean), rewritten for RGB inputs scaled to 0..1 (or grey, `channels` 1)."""
    mean = np.asarray(IMAGENET_MEAN_BGR, np.float64)
    bias = np.asarray(bias, np.float64) - np.einsum("hwco,c->o", np.asarray(kernel, np.float64), mean)
    rgb = np.asarray(kernel, np.float64)[:, :, ::-1, :] * 255.0
    folded = rgb.sum(axis=2, keepdims=True) if channels == 1 else rgb
    return folded.astype(np.float32), bias.astype(np.float32)


def _feeds_from_rescale(model: Any, layer: Any) -> bool:
    """True when `layer` reads the output of LayerLab's "rescale" (pixels scaled to 0..1)."""
    try:
        return layer.input is model.get_layer("rescale").output
    except (ValueError, AttributeError):
        return False


def copy_h5_weights(model: Any, path: str | Path) -> str:
    """Copy every layer of the file whose name and shapes match a layer of `model`; return a
    note ("copied 13 layers of …"); `ConfigError` when none matches."""
    path = Path(path)
    stored = read_h5_weights(path)
    copied, folded = 0, False
    for layer in model.layers:
        arrays = stored.get(layer.name)
        mine = layer.get_weights()
        if not arrays or not mine:
            continue
        if (
            layer.name == CAFFE_FIRST_LAYER
            and len(arrays) == 2
            and _feeds_from_rescale(model, layer)
            and arrays[0].ndim == 4
            and arrays[0].shape[2] == 3
        ):
            arrays = list(fold_caffe_preprocessing(arrays[0], arrays[1], int(mine[0].shape[2])))
            folded = True
        if len(arrays) == len(mine) and all(a.shape == b.shape for a, b in zip(arrays, mine)):
            layer.set_weights(arrays)
            copied += 1
        elif layer.name == CAFFE_FIRST_LAYER:
            folded = False
    if not copied:
        raise ConfigError(f"no layer of {printable_path(path)} matches this architecture (same name and weight shapes)")
    note = f"started from {copied} layers of {path.name}"
    return note + (" (its caffe input scaling folded into block1_conv1)" if folded else "")
