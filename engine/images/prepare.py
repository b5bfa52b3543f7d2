"""Prepare any image for a network exactly the way its training data looked (`prepare`).

A drawing or photo of a digit for a light-strokes-on-dark model is prepared the way MNIST was
made: strokes cropped, scaled anti-aliased to fit a box keeping their aspect (20 px of 28 for
MNIST; each dataset's own share of its side, `PreprocessSpec.stroke_box`), and centred by their
centre of mass. `prepare` also says where the network's input lies on the original image
(`Placement`), so explanations can be drawn back onto it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from engine.images.decode import LEGACY_RESAMPLE, border_colour, open_for_network, open_image, reduce_to_side, to_array
from engine.images.spec import PreprocessSpec

ImageSource = str | Path | bytes | Image.Image

# Images are first reduced (box filter, whole factors) until their longest side is at most this
# many times the network's input side, and never below `MIN_WORKING_SIDE`: enough detail for
# cropping to strokes and for a good resize, with memory bounded whatever the file holds.
WORKING_FACTOR = 8
MIN_WORKING_SIDE = 1024


@dataclass(frozen=True)
class Placement:
    """Where the network's input lies on the original image, in fractions of the original's
    height and width: the input's top-left corner is at (`top`, `left`) and it spans `height` ×
    `width` (more than 1 where preprocessing padded the image, less where it cropped)."""

    top: float = 0.0
    left: float = 0.0
    height: float = 1.0
    width: float = 1.0

    def __post_init__(self) -> None:  # plain floats (NumPy scalars would leak into JSON and reprs)
        for name in ("top", "left", "height", "width"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def to_original(self, y: float, x: float) -> tuple[float, float]:
        """A point given as fractions of the network input → fractions of the original image."""
        return self.top + y * self.height, self.left + x * self.width

    def within(self, inner: Placement) -> Placement:
        """`inner` is given in fractions of the image this placement is relative to: compose."""
        return Placement(
            self.top + inner.top * self.height,
            self.left + inner.left * self.width,
            inner.height * self.height,
            inner.width * self.width,
        )


@dataclass(frozen=True)
class Prepared:
    array: np.ndarray  # float32 (H, W, C) 0..255: what the network sees
    placement: Placement  # where that lies on the original image
    original: Image.Image  # the decoded image, "L" or "RGB" (reduced when huge)


def preprocess(source: ImageSource, spec: PreprocessSpec) -> np.ndarray:
    """Decode `source` and return what the network sees: float32 (H, W, C), values 0..255."""
    return prepare(source, spec).array


def prepare(source: ImageSource, spec: PreprocessSpec) -> Prepared:
    """`preprocess`, also saying where the result lies on the original image."""
    longest = max(spec.height, spec.width)
    original = open_image(source, draft_size=(longest * 4, longest * 4))
    original = reduce_to_side(original, max(MIN_WORKING_SIDE, WORKING_FACTOR * longest))
    image = original.convert("L" if spec.channels == 1 else "RGB")
    placement = Placement()
    if spec.polarity == "light_on_dark":
        image = _light_strokes_on_dark(image)
        if _strokes_are_fitted(image, spec):
            # A drawing or photo, not a sample already shaped like the training data.
            box = spec.stroke_box if spec.stroke_box is not None else 1.0 - 2.0 * spec.content_margin
            image, placement = _fit_strokes(image, box, (spec.height, spec.width))
    placement = placement.within(pad_placement(image.size, (spec.height, spec.width), spec.pad_to_square))
    if _decoded_as_in_training(source, spec):
        # The file again, decoded as a class folder's training images were (`decode_file`): the
        # same pixels for the same file, whatever its size (the working image above is for showing).
        image = open_for_network(source, longest, spec.resample)
    array = to_array(
        image, (spec.height, spec.width), spec.channels, pad_to_square=spec.pad_to_square, resample=spec.resample
    )
    return Prepared(array.astype(np.float32), placement, original)


def _strokes_are_fitted(image: Image.Image, spec: PreprocessSpec) -> bool:
    """Whether `prepare` crops a light-strokes-on-dark image to its strokes: a drawing or photo,
    not a sample already shaped like the training data (at most twice the input's side)."""
    return spec.polarity == "light_on_dark" and spec.fit_content and max(image.size) > 2 * max(spec.height, spec.width)


def as_given(prepared: Prepared, spec: PreprocessSpec) -> np.ndarray:
    """The image as the user gave it, seen through the network's window: uint8 (H, W, C).

    For natural images that is the network's input itself (resized, padded: nothing was
    cleaned). For a drawing or photo handed to a light-strokes-on-dark model, `prepare` crops it
    to its "strokes", stretches their contrast, scales them into the dataset's box on a black
    canvas and centres them: a photograph comes out looking like a digit. Here the same window of
    the original (polarity and contrast as `prepare` sets them) is resampled instead, so what
    lay around the strokes stays visible: paper for a drawn digit, the rest of the scene for a
    photograph. Training images are compared with it as they are (they need no preparation)."""
    image = prepared.original.convert("L" if spec.channels == 1 else "RGB")
    if spec.polarity != "light_on_dark":
        return np.asarray(prepared.array, np.float32).round().astype(np.uint8)
    image = _light_strokes_on_dark(image)
    if not _strokes_are_fitted(image, spec):
        return np.asarray(prepared.array, np.float32).round().astype(np.uint8)
    low, high = stroke_range(np.asarray(image.convert("L"), np.float32))
    window = _window(image, prepared.placement, (spec.height, spec.width))
    values = np.asarray(window, np.float32)
    stretched = np.clip((values - low) / max(high - low, 1.0) * 255.0, 0, 255).round().astype(np.uint8)
    return stretched[..., None] if stretched.ndim == 2 else stretched


def _window(image: Image.Image, placement: Placement, target: tuple[int, int]) -> Image.Image:
    """The part of `image` that `placement` names, resampled to `target` (height, width); what lies
    beyond the image is its border colour."""
    width, height = image.size
    left, top = round(placement.left * width), round(placement.top * height)
    size = (max(1, round(placement.width * width)), max(1, round(placement.height * height)))
    canvas = Image.new(image.mode, size, border_colour(image))
    canvas.paste(image, (-left, -top))
    return canvas.resize((target[1], target[0]), Image.Resampling.BILINEAR, reducing_gap=1.0)


def _decoded_as_in_training(source: ImageSource, spec: PreprocessSpec) -> bool:
    """Whether the network's input is decoded from the file by the training rule: a file (not an
    image already decoded), a natural picture at a square size, and a rule recorded with the run
    (runs made before it keep the inference decode they were tested with)."""
    return (
        spec.resample != LEGACY_RESAMPLE
        and spec.polarity != "light_on_dark"
        and spec.height == spec.width
        and not isinstance(source, Image.Image)
    )


def pad_placement(size: tuple[int, int], target: tuple[int, int], pad_to_square: bool) -> Placement:
    """Where `engine.images.decode.to_array`'s output lies on its input (resize to fit, centred pad)."""
    width, height = size
    target_h, target_w = target
    if not pad_to_square or (width, height) == (target_w, target_h):
        return Placement()
    scale = min(target_w / width, target_h / height)
    fitted_w = min(target_w, max(1, round(width * scale)))
    fitted_h = min(target_h, max(1, round(height * scale)))
    left, top = (target_w - fitted_w) // 2, (target_h - fitted_h) // 2
    return Placement(-top / fitted_h, -left / fitted_w, target_h / fitted_h, target_w / fitted_w)


def _light_strokes_on_dark(image: Image.Image) -> Image.Image:
    """Invert a dark-ink-on-paper picture so it matches datasets of light strokes on black."""
    if border_colour(image.convert("L")) > 127:
        image = ImageOps.invert(image)
    return image


# The strokes are laid out at this many times the target's resolution, then averaged down: the
# centre of mass lands within a fraction of a pixel and the edges come out anti-aliased.
STROKE_OVERSAMPLING = 8


def _fit_strokes(image: Image.Image, box: float, target: tuple[int, int]) -> tuple[Image.Image, Placement]:
    """MNIST's recipe: crop to the bright strokes (contrast stretched), scale them to fit a
    `box`-sized square keeping their aspect, place them so their centre of mass is the image's
    centre, anti-alias down to `target` (height, width), brightest pixel at 255. Returns the
    image and where it lies on the input."""
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    low, high = stroke_range(gray)
    if high - low < 16:
        return image, Placement()  # a blank image: nothing to centre
    ink = gray > low + 0.35 * (high - low)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = np.clip((gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] - low) / (high - low) * 255.0, 0, 255)
    canvas_h, canvas_w = target[0] * STROKE_OVERSAMPLING, target[1] * STROKE_OVERSAMPLING
    scale = min(box * canvas_h / crop.shape[0], box * canvas_w / crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    strokes = np.asarray(Image.fromarray(crop.astype(np.uint8), "L").resize(size, Image.Resampling.LANCZOS), np.float32)
    top, left = _centre_of_mass_offset(strokes, canvas_h, canvas_w)
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    canvas[top : top + strokes.shape[0], left : left + strokes.shape[1]] = strokes
    small = np.asarray(
        Image.fromarray(canvas.astype(np.uint8), "L").resize((target[1], target[0]), Image.Resampling.BOX), np.float32
    )
    # Thin strokes lose brightness when averaged down; training digits reach full white.
    small = Image.fromarray(np.clip(small * (255.0 / max(1.0, small.max())), 0, 255).round().astype(np.uint8), "L")
    # canvas pixel c ↔ image pixel rows[0] + (c - top) / scale (and the same across)
    placement = Placement(
        (rows[0] - top / scale) / gray.shape[0],
        (cols[0] - left / scale) / gray.shape[1],
        canvas_h / scale / gray.shape[0],
        canvas_w / scale / gray.shape[1],
    )
    return (small if image.mode == "L" else small.convert(image.mode)), placement


def stroke_range(gray: np.ndarray) -> tuple[float, float]:
    """The grey levels stretched to 0..255 around strokes: the 5th percentile (the ground) and
    the brightest pixel."""
    return float(np.percentile(gray, 5)), float(gray.max())


def _centre_of_mass_offset(strokes: np.ndarray, canvas_h: int, canvas_w: int) -> tuple[int, int]:
    """Where to paste `strokes` so their centre of mass is the canvas centre (kept on the canvas)."""
    mass = strokes.sum()
    ys, xs = np.indices(strokes.shape, dtype=np.float64)
    cy = (ys * strokes).sum() / mass + 0.5 if mass > 0 else strokes.shape[0] / 2
    cx = (xs * strokes).sum() / mass + 0.5 if mass > 0 else strokes.shape[1] / 2
    top = int(np.clip(round(canvas_h / 2 - cy), 0, canvas_h - strokes.shape[0]))
    left = int(np.clip(round(canvas_w / 2 - cx), 0, canvas_w - strokes.shape[1]))
    return top, left
