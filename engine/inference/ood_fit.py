"""The images the out-of-distribution model is fitted and calibrated on, seen as at inference.

The training images are the reference: for natural pictures as they are (the network's input
*is* the image, resized); for light-strokes-on-dark data (digits) both as stored (a file of that
size is used as it is) and as a user's picture of one would be seen: drawn larger (3 to 12 times,
by one of the usual resampling filters, chosen at random per image with a fixed seed), prepared
like any dropped file (`engine.images.prepare`: cropped to its strokes, centred) and shown
`as_given`. Calibration images (the validation split, the training images when there is none) go
the same ways, each held to the false-alarm rate on its own (as stored; drawn larger by each of
the filters), so the line is drawn on what a user's file of the same kind would score, however
it was enlarged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from engine.datasets.base import stratified_subset
from engine.images.prepare import as_given, prepare
from engine.images.statistics import image_statistics

RENDER_FACTORS = (3, 12)  # drawn larger than 2× the input side: such a picture takes the stroke path
RENDER_FILTERS = (
    Image.Resampling.NEAREST,
    Image.Resampling.BILINEAR,
    Image.Resampling.BICUBIC,
    Image.Resampling.LANCZOS,
)
STATISTICS_CHUNK = 64


def prepares_strokes(spec: Any) -> bool:
    """Whether a user's image goes through the stroke preparation (crop, stretch, centre)."""
    return spec.polarity == "light_on_dark" and bool(spec.fit_content)


def rendered(image: np.ndarray, rng: np.random.Generator, resample: Image.Resampling | None = None) -> Image.Image:
    """A training image (H, W, C) as a larger picture, the way a user's picture of one may come:
    3 to 12 times larger, by `resample` (by default one of `RENDER_FILTERS` at random)."""
    pixels = np.asarray(image, np.uint8)
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    factor = float(rng.uniform(*RENDER_FACTORS))
    size = (round(picture.width * factor), round(picture.height * factor))
    return picture.resize(size, resample if resample is not None else RENDER_FILTERS[int(rng.integers(4))])


def seen_at_inference(
    images: Any, spec: Any, seed: int = 0, resample: Image.Resampling | None = None
) -> tuple[Any, np.ndarray]:
    """(network inputs, statistics of the images as given) of training-like images, as files of
    them would be seen by `Classifier.classify`. Natural pictures need no preparation: their
    inputs are the images themselves (not copied). Strokes: each image drawn larger (by
    `resample`, else a filter at random), then prepared (see the module docstring)."""
    if not prepares_strokes(spec):
        return images, statistics_of(images)
    rng = np.random.default_rng(seed)
    inputs, views = [], []
    for image in np.asarray(images):
        prepared = prepare(rendered(image, rng, resample), spec)
        inputs.append(prepared.array)
        views.append(as_given(prepared, spec))
    return np.stack(inputs).astype(np.float32), image_statistics(np.stack(views))


def statistics_of(images: Any) -> np.ndarray:
    """`image_statistics` of images (an array or a folder's lazily decoded `ImageFiles`), a few
    at a time: a thousand photos at 224 px would otherwise need gigabytes as floats."""
    chunks = [
        image_statistics(np.asarray(images[i : i + STATISTICS_CHUNK])) for i in range(0, len(images), STATISTICS_CHUNK)
    ]
    return np.concatenate(chunks) if chunks else np.zeros((0, 1), np.float32)


@dataclass
class CalibrationKind:
    """The calibration images given one way (as stored, or drawn larger), as a file would be seen."""

    inputs: Any  # network inputs (natural pictures: the images themselves)
    statistics: np.ndarray  # of the images as given
    cached: bool  # the inputs are the split's own images: a frozen base's cached features apply


@dataclass
class FitData:
    """The training images the parts are fitted on, and the calibration images (one
    `CalibrationKind` per way they may come)."""

    train_index: np.ndarray  # into the training split
    train_images: Any  # uint8 (n, H, W, C): what the network was trained on
    train_labels: np.ndarray
    train_statistics: np.ndarray  # of the training images as files of them are seen
    calibration_split: str  # "validation", or "train" when there is no validation data
    calibration_index: np.ndarray
    calibration: list[CalibrationKind]

    @classmethod
    def of(cls, dataset: Any, spec: Any, max_train: int, max_calibration: int, seed: int) -> FitData:
        y_train = np.asarray(dataset.y_train)
        keep = stratified_subset(y_train, max_train, seed)
        x_train, _ = dataset.split("train")
        train_images = x_train if len(keep) == len(y_train) else x_train[keep]
        train_statistics = statistics_of(train_images)  # as stored: files of that size are used as they are
        split = "validation" if len(dataset.y_val) else "train"
        x, y = dataset.split(split)
        index = stratified_subset(np.asarray(y), max_calibration, seed + 1)
        images = x[index]
        calibration = [CalibrationKind(images, statistics_of(images), True)]
        if prepares_strokes(spec):  # and as larger pictures of them
            train_statistics = np.concatenate([train_statistics, seen_at_inference(train_images, spec, seed)[1]])
            for i, resample in enumerate(RENDER_FILTERS):  # each way of enlarging held to the rate
                calibration.append(CalibrationKind(*seen_at_inference(images, spec, seed + 1 + i, resample), False))
        return cls(keep, train_images, y_train[keep], train_statistics, split, index, calibration)
