"""Why the model answers what it answers: Grad-CAM, gradient saliency, feature maps, filters.

- Grad-CAM (Selvaraju et al. 2017) for models with convolutions: the gradient of the class's
  logit with respect to a convolutional layer's maps, averaged per channel, weighs those maps;
  their positive sum, scaled to 0..1 and resized to the network's input, is where the evidence
  for the class lies. The logit (the softmax's input, recomputed from the penultimate features
  and the output layer's weights) is used rather than the probability, whose gradient vanishes
  once the model is sure. Default layer: the last layer with a spatial map (the last
  convolution's activation in the presets, `out_relu` in MobileNetV2, the last block's output
  in ResNet50, `block5_pool` in VGG16).
- Gradient saliency for models without spatial maps (the MLP): |d logit / d pixel|.
- `overlay` draws a heatmap onto the original image, undoing the preprocessing's geometry (the
  padding to square, or for drawn digits the crop, scale and centring; `inference.Placement`),
  so the peak lands where it is on the picture the user dropped.
- `feature_maps`: what each convolution (after its batch norm and activation) responds to, as a
  grid of its most active channels; `first_layer_filters`: the first convolution's kernels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from engine.architectures.outputs import as_probabilities, output_layer
from engine.core.errors import ConfigError
from engine.images.prepare import Placement, Prepared, pad_placement, prepare

# Layers that only pass pixels on (LayerLab's input block, scaling, dropout): never explained.
INPUT_BLOCK = frozenset({"image", "rescale", "resize", "to_rgb", "preprocess"})
PASS_THROUGH = frozenset(
    {
        "InputLayer",
        "Rescaling",
        "Resizing",
        "Normalization",
        "ImagenetPreprocess",
        "ZeroPadding2D",
        "Dropout",
        "SpatialDropout2D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
    }
)
CONVOLUTIONS = frozenset({"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"})
# What may follow a convolution within one "unit" whose output feature maps show.
UNIT_FOLLOWERS = frozenset({"BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU"})
MIN_TILE = 32  # feature-map and filter tiles are enlarged (nearest) to at least this side


@dataclass(frozen=True)
class Explanation:
    """A heatmap of the evidence for `label`, float32 (H, W) in 0..1 at the network input size."""

    heatmap: np.ndarray
    method: str  # "gradcam" | "saliency"
    layer: str | None  # the layer Grad-CAM read; None for saliency
    label: str
    probability: float
    class_index: int
    placement: Placement = field(default_factory=Placement)  # where the input lies on the original

    @property
    def how(self) -> str:
        """How the evidence was found, in words: "Grad-CAM on conv_2" or "saliency (gradient of the class score)"."""
        return f"Grad-CAM on {self.layer}" if self.method == "gradcam" else "saliency (gradient of the class score)"

    def input_peak(self) -> tuple[float, float]:
        """(y, x) of the heatmap's maximum, as fractions 0..1 of the network input."""
        height, width = self.heatmap.shape
        y, x = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        return (y + 0.5) / height, (x + 0.5) / width

    def peak(self) -> tuple[float, float]:
        """(y, x) of the heatmap's maximum, as fractions 0..1 of the original image (the
        network input itself when the explanation was made from an array)."""
        y, x = self.placement.to_original(*self.input_peak())
        return float(np.clip(y, 0.0, 1.0)), float(np.clip(x, 0.0, 1.0))


# --- which layers ------------------------------------------------------------------------------------
def conv_layers(model: Any) -> list[str]:
    """Layers Grad-CAM can read (a spatial map larger than one pixel), the last first."""
    names = []
    for layer in model.layers:
        if layer.name in INPUT_BLOCK or type(layer).__name__ in PASS_THROUGH:
            continue
        shape = _output_shape(layer)
        if shape is not None and len(shape) == 4 and (shape[1] or 0) * (shape[2] or 0) > 1:
            names.append(layer.name)
    return names[::-1]


def _output_shape(layer: Any) -> tuple | None:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    return tuple(shape) if not isinstance(shape, list) else None


# --- explanations -----------------------------------------------------------------------------------
def explain(
    classifier: Any, source_or_array: Any, *, layer: str | None = None, class_index: int | None = None
) -> Explanation:
    """Explain `classifier`'s answer for an image (a path, bytes, a PIL image, an
    `inference.Prepared`, or an array already prepared as the network sees it, (H, W, C) 0..255). Grad-CAM on `layer` (default:
    the last spatial layer) for convolutional models, gradient saliency otherwise; for the
    predicted class unless `class_index` is given. `ConfigError` for a layer that cannot be used."""

    model = classifier.model
    candidates = check_layer(model, layer)
    array, placement = _input(classifier, source_or_array)
    if candidates:
        heat, probabilities, index = _gradcam(model, array, layer or candidates[0], class_index)
        method, used = "gradcam", layer or candidates[0]
    else:
        heat, probabilities, index = _saliency(model, array, class_index)
        method, used = "saliency", None
    names = classifier.class_names
    label = names[index] if index < len(names) else str(index)
    probabilities = as_probabilities(model, probabilities[None])[0]  # CapsNet: lengths read as probabilities
    return Explanation(
        _to_input_size(heat, array.shape[:2]), method, used, label, float(probabilities[index]), index, placement
    )


def check_layer(model: Any, layer: str | None) -> list[str]:
    """The model's Grad-CAM layers; `ConfigError` naming the choices when `layer` is not one."""
    candidates = conv_layers(model)
    if layer is not None and layer not in candidates:
        known = ", ".join(candidates[:12]) + (" ..." if len(candidates) > 12 else "")
        raise ConfigError(
            f"layer {layer!r} has no spatial map to explain with"
            + (f"; choose one of: {known}" if known else " (this model has none: it explains with saliency)")
        )
    return candidates


def _input(classifier: Any, source_or_array: Any) -> tuple[np.ndarray, Placement]:
    spec = classifier.spec
    if isinstance(source_or_array, Prepared):
        return source_or_array.array, source_or_array.placement
    if isinstance(source_or_array, np.ndarray):
        array = np.asarray(source_or_array, np.float32)
        if array.ndim == 2:
            array = array[..., None]
        if array.shape != (spec.height, spec.width, spec.channels):
            raise ConfigError(
                f"an image array for this model must be {spec.height}×{spec.width}×{spec.channels}, "
                f"not {'×'.join(map(str, array.shape))}"
            )
        return array, Placement()
    prepared = prepare(source_or_array, spec)
    return prepared.array, prepared.placement


def _class_score(model: Any, features: Any, probabilities: Any, class_index: int) -> Any:
    """The class's logit: the output layer's pre-softmax value when it is a Dense softmax (every
    LayerLab model), else the log-probability."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    last = output_layer(model)
    kernel, bias = getattr(last, "kernel", None), getattr(last, "bias", None)
    if kernel is not None and len(features.shape) == 2:
        logit = tf.matmul(tf.cast(features, tf.float32), tf.cast(kernel[:, class_index : class_index + 1], tf.float32))[
            :, 0
        ]
        return logit + (tf.cast(bias[class_index], tf.float32) if bias is not None else 0.0)
    return tf.math.log(tf.cast(probabilities[:, class_index], tf.float32) + 1e-12)


def _gradcam(model: Any, array: np.ndarray, layer: str, class_index: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    # TensorFlow: imported here, so importing this module stays cheap
    import keras
    import tensorflow as tf

    probe = keras.Model(model.inputs, [model.get_layer(layer).output, output_layer(model).input, model.output])
    x = tf.constant(array[None], tf.float32)
    with tf.GradientTape() as tape:
        maps, features, probabilities = probe(x, training=False)
        index = int(np.argmax(probabilities[0])) if class_index is None else int(class_index)
        score = _class_score(model, features, probabilities, index)
    grads = tf.cast(tape.gradient(score, maps), tf.float32)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(tf.cast(maps, tf.float32) * weights, axis=-1))[0]
    return np.asarray(cam, np.float32), np.asarray(probabilities[0], np.float64), index


def _saliency(model: Any, array: np.ndarray, class_index: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    # TensorFlow: imported here, so importing this module stays cheap
    import keras
    import tensorflow as tf

    probe = keras.Model(model.inputs, [output_layer(model).input, model.output])
    x = tf.constant(array[None], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        features, probabilities = probe(x, training=False)
        index = int(np.argmax(probabilities[0])) if class_index is None else int(class_index)
        score = _class_score(model, features, probabilities, index)
    grads = tape.gradient(score, x)
    return (
        smoothed_saliency(np.asarray(tf.reduce_max(tf.abs(grads), axis=-1)[0], np.float32)),
        np.asarray(probabilities[0], np.float64),
        index,
    )


SALIENCY_BLUR = 1 / 20  # of the input's side


def smoothed_saliency(saliency: np.ndarray) -> np.ndarray:
    """|d score / d pixel| jumps from one pixel to the next: drawn as it is, it is faint speckle.
    Blurred over about `SALIENCY_BLUR` of the input's side, the regions it picks show."""
    from scipy import ndimage  # slow to import: loaded when needed

    sigma = max(saliency.shape) * SALIENCY_BLUR
    return ndimage.gaussian_filter(saliency, sigma=sigma, mode="constant") if sigma >= 0.3 else saliency


def _to_input_size(heat: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scaled to 0..1 (all zeros when there is no evidence) and resized to (H, W)."""
    heat = np.maximum(np.nan_to_num(np.asarray(heat, np.float32), nan=0.0, posinf=0.0, neginf=0.0), 0.0)
    if heat.shape != tuple(size):
        heat = np.asarray(Image.fromarray(heat, "F").resize((size[1], size[0]), Image.Resampling.BILINEAR), np.float32)
    top = float(heat.max()) if heat.size else 0.0
    return (np.clip(heat / top, 0.0, 1.0) if top > 0 else np.zeros(size, np.float32)).astype(np.float32)


# --- drawing ------------------------------------------------------------------------------------------
# A perceptually ordered ramp (dark blue → cyan → green → yellow → red), as (position, RGB) stops.
_RAMP = (
    (0.0, (20, 20, 120)),
    (0.25, (30, 110, 255)),
    (0.5, (40, 220, 150)),
    (0.75, (255, 215, 0)),
    (1.0, (230, 30, 20)),
)


def colour_map(values: np.ndarray) -> np.ndarray:
    """float values 0..1 → uint8 RGB through the ramp above."""
    positions = np.array([p for p, _ in _RAMP])
    colours = np.array([c for _, c in _RAMP], np.float32)
    v = np.clip(np.asarray(values, np.float32), 0, 1)
    return np.stack([np.interp(v, positions, colours[:, i]) for i in range(3)], axis=-1).round().astype(np.uint8)


DEFAULT_OPACITY = 0.6
STRONGEST = 0.6  # the strongest region: where the evidence reaches this share of its peak


def colour_key(width: int = 256, height: int = 12) -> np.ndarray:
    """The ramp as a strip, least evidence on the left, most on the right: uint8 RGB (height, width)."""
    return np.repeat(colour_map(np.linspace(0.0, 1.0, width))[None], height, axis=0)


@dataclass(frozen=True)
class OverlayLayers:
    """An explanation drawn onto the original image, in layers a window can blend at any opacity:
    the picture, the ramp's colour per pixel, how strongly to tint it, and the outline of the
    strongest region (the connected area around the peak where the evidence is at least
    `STRONGEST` of it)."""

    picture: np.ndarray  # uint8 RGB (H, W, 3): the original image
    colours: np.ndarray  # uint8 RGB (H, W, 3): the evidence through `colour_map`
    strength: np.ndarray  # float32 (H, W) 0..1: the evidence, as tint (its square root: faint areas still show)
    outline: np.ndarray  # bool (H, W): the strongest region's edge
    key: np.ndarray = field(default_factory=colour_key)  # the ramp: least → most evidence

    def blend(self, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
        """The picture tinted by the evidence (`opacity` 0..1 where it is strongest), its
        strongest region outlined: uint8 RGB."""
        weight = (float(np.clip(opacity, 0.0, 1.0)) * self.strength)[..., None]
        out = self.picture.astype(np.float32) * (1 - weight) + self.colours.astype(np.float32) * weight
        out[self.outline] = (255, 255, 255)
        return np.clip(out, 0, 255).round().astype(np.uint8)


def overlay_layers(original_rgb: Any, heatmap: np.ndarray, *, placement: Placement | None = None) -> OverlayLayers:
    """`heatmap` (at the network input size) laid onto the original image, in layers (see
    `OverlayLayers`). `placement` says where the network input lies on the original (an
    `Explanation`'s, or a `Prediction`'s); without it the usual resize-and-pad-to-square geometry
    is assumed."""
    rgb = _as_rgb(original_rgb)
    height, width = rgb.shape[:2]
    heat = np.asarray(heatmap, np.float32)
    if placement is None:
        placement = pad_placement((width, height), heat.shape, True)
    warped = np.clip(_warp(heat, placement, (height, width)), 0, 1)
    return OverlayLayers(
        rgb.round().astype(np.uint8),
        colour_map(warped),
        np.sqrt(warped).astype(np.float32),
        strongest_outline(warped),
    )


def overlay(
    original_rgb: Any, heatmap: np.ndarray, alpha: float = DEFAULT_OPACITY, *, placement: Placement | None = None
) -> np.ndarray:
    """`heatmap` drawn over the original image at opacity `alpha`, its strongest region outlined:
    uint8 RGB of the original's size (`overlay_layers(...).blend(alpha)`)."""
    return overlay_layers(original_rgb, heatmap, placement=placement).blend(alpha)


def strongest_outline(heat: np.ndarray) -> np.ndarray:
    """The edge (about 1/100 of the image's side thick, at least a pixel) of the connected region
    around the peak of `heat` where it is at least `STRONGEST` of the peak; nothing when there is
    no evidence."""
    from scipy import ndimage  # slow to import: loaded when needed

    top = float(heat.max()) if heat.size else 0.0
    if top <= 0:
        return np.zeros(heat.shape, bool)
    regions, _ = ndimage.label(heat >= STRONGEST * top)
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    region = regions == regions[peak]
    thickness = max(1, round(max(heat.shape) / 100))
    return region & ~ndimage.binary_erosion(region, iterations=thickness, border_value=0)


def _as_rgb(image: Any) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ConfigError(f"an image to draw on must be (H, W), (H, W, 1) or (H, W, 3), not {array.shape}")
    return np.clip(array.astype(np.float32), 0, 255)


def _warp(heat: np.ndarray, placement: Placement, size: tuple[int, int]) -> np.ndarray:
    """The heatmap resampled onto the original's pixel grid (0 outside the network's input)."""
    h_in, w_in = heat.shape
    height, width = size
    a = w_in / (width * placement.width)
    c = -w_in * placement.left / placement.width
    e = h_in / (height * placement.height)
    f = -h_in * placement.top / placement.height
    image = Image.fromarray(heat.astype(np.float32), "F")
    return np.asarray(
        image.transform(
            (width, height),
            Image.Transform.AFFINE,
            (a, 0, c, 0, e, f),
            resample=Image.Resampling.BILINEAR,
            fillcolor=0.0,
        ),
        np.float32,
    )


# --- feature maps and filters ---------------------------------------------------------------------------
def feature_maps(
    classifier: Any, source_or_array: Any, *, max_channels: int = 16, layers: Sequence[str] | None = None
) -> list[tuple[str, np.ndarray]]:
    """For each convolution (or those named in `layers`), in model order: (its name, a uint8 grey
    grid of its `max_channels` most active maps for this image, each scaled to 0..255). The maps
    are taken after the convolution's batch norm and activation when those follow it."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras
    import tensorflow as tf

    array, _ = _input(classifier, source_or_array)
    units = [(conv, end) for conv, end in conv_units(classifier.model) if layers is None or conv in layers]
    if not units:
        return []
    probe = keras.Model(classifier.model.inputs, [end.output for _, end in units])
    outputs = probe(tf.constant(array[None], tf.float32), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [
        (conv, _grid_of_maps(np.asarray(out, np.float32)[0], max_channels)) for (conv, _), out in zip(units, outputs)
    ]


def conv_units(model: Any) -> list[tuple[str, Any]]:
    """(convolution name, last layer of its conv → [batch norm] → [activation] chain)."""
    layers = model.layers
    units = []
    for i, layer in enumerate(layers):
        if type(layer).__name__ not in CONVOLUTIONS:
            continue
        end = layer
        for follower in layers[i + 1 :]:
            if type(follower).__name__ not in UNIT_FOLLOWERS or not _consumes(follower, end):
                break
            end = follower
        units.append((layer.name, end))
    return units


def _consumes(layer: Any, producer: Any) -> bool:
    try:
        return layer.input is producer.output
    except (AttributeError, ValueError):
        return False


def _grid_of_maps(maps: np.ndarray, max_channels: int) -> np.ndarray:
    strength = maps.reshape(-1, maps.shape[-1]).mean(axis=0)
    chosen = np.argsort(-strength, kind="stable")[: max(1, max_channels)]
    tiles = [_to_uint8(maps[..., c]) for c in chosen]
    return _tile(tiles)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return (scaled * 255).round().astype(np.uint8)


def _tile(tiles: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Tiles (h, w[, 3]) enlarged to at least MIN_TILE px and laid out in a near-square grid."""
    h, w = tiles[0].shape[:2]
    factor = max(1, math.ceil(MIN_TILE / max(h, w)))
    tiles = [np.kron(t, np.ones((factor, factor) + (1,) * (t.ndim - 2), np.uint8)) for t in tiles]
    h, w = tiles[0].shape[:2]
    cols = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    grid = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap) + tiles[0].shape[2:], 48, np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        grid[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = t
    return grid


def first_layer_filters(model: Any) -> np.ndarray | None:
    """The first convolution's kernels as a uint8 RGB grid (colour when it reads RGB pixels,
    grey otherwise); None for a model without convolutions."""
    first = next((layer for layer in model.layers if type(layer).__name__ in CONVOLUTIONS and layer.weights), None)
    if first is None:
        return None
    kernel = np.asarray(first.weights[0].numpy(), np.float32)  # (kh, kw, in, out)
    if type(first).__name__ == "DepthwiseConv2D":
        kernel = kernel.reshape(kernel.shape[0], kernel.shape[1], 1, -1)
    if kernel.shape[2] == 3 and _reads_bgr(model):
        kernel = kernel[:, :, ::-1]  # VGG16/ResNet50 read BGR: show their filters in RGB
    tiles = []
    for k in range(kernel.shape[3]):
        weights = kernel[..., k]
        tile = _to_uint8(weights if weights.shape[-1] == 3 else weights.mean(axis=-1))
        tiles.append(tile if tile.ndim == 3 else np.repeat(tile[..., None], 3, axis=-1))
    return _tile(tiles, gap=1)


def _reads_bgr(model: Any) -> bool:
    try:
        return getattr(model.get_layer("preprocess"), "mode", "") == "caffe"
    except ValueError:
        return False
