"""Datasets that need no download: scikit-learn's digits and generated coloured shapes."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from engine.config import DataOptions
from engine.datasets.base import Dataset, split_array, stratified_split

SHAPES = ("circle", "square", "triangle", "star", "cross")
SHAPES_PER_CLASS = 750  # 3 750 images: ~3 000 for training at the default 0.2 validation split
SHAPES_DEFAULT_SIZE = 32
# Tuned so that a small CNN (bn_cnn, 10 epochs) reaches ~94 % while an MLP stays near chance:
# shapes are large enough to tell apart at 32 px, and differ from the background in brightness
# (not only in hue), but colours, place, size and angle all vary.
NOISE_STD = 8.0
RADIUS = (0.25, 0.42)  # fraction of the image side
MIN_LUMA_CONTRAST = 60.0  # 0..255 difference in brightness between shape and background


def load_digits(options: DataOptions, seed: int) -> Dataset:
    """1 797 handwritten 8×8 digits bundled with scikit-learn (values 0..16 → 0..255)."""
    from sklearn.datasets import load_digits as sklearn_digits  # slow to import: loaded when needed

    bunch = sklearn_digits()
    x = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    y = bunch.target.astype(np.int32)
    # Rows of `x`: scikit-learn's own order of the images (`load_digits().images`), whatever the split.
    x_train, y_train, x_val, y_val, train_rows, val_rows = split_array(x, y, options.val_split, seed, "x")
    return Dataset(
        "digits",
        [str(d) for d in range(10)],
        x_train,
        y_train,
        x_val,
        y_val,
        polarity="light_on_dark",
        train_rows=train_rows,
        val_rows=val_rows,
    )


def load_shapes(options: DataOptions, seed: int) -> Dataset:
    """Coloured shapes at random positions, sizes, rotations and colours, with noise.

    Deterministic by seed. Position and rotation vary so much that a dense network has to learn
    every placement separately, while a convolutional one shares what it learns: the classic
    demonstration of why CNNs win on images.
    """
    size = options.image_size or SHAPES_DEFAULT_SIZE
    x, y = generate_shapes(SHAPES_PER_CLASS, size, seed)
    x_train, y_train, x_val, y_val, _, _ = stratified_split(x, y, options.val_split, seed)
    return Dataset("shapes", list(SHAPES), x_train, y_train, x_val, y_val, polarity="natural")


def generate_shapes(per_class: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(SHAPES), dtype=np.int32), per_class)
    rng.shuffle(labels)
    images = np.empty((len(labels), size, size, 3), np.uint8)
    for i, label in enumerate(labels):
        images[i] = _draw(SHAPES[label], size, rng)
    noise = rng.normal(0.0, NOISE_STD, images.shape)
    images = np.clip(images + noise, 0, 255).astype(np.uint8)
    return images, labels


def _draw(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    background = rng.integers(0, 256, 3)
    colour = _contrasting(background, rng)
    image = Image.new("RGB", (size, size), tuple(int(c) for c in background))
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(*RADIUS) * size
    cx, cy = rng.uniform(radius, size - radius, 2)
    angle = rng.uniform(0, 2 * math.pi)
    fill = tuple(int(c) for c in colour)
    if shape == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=fill)
    else:
        draw.polygon(_outline(shape, cx, cy, radius, angle), fill=fill)
    return np.asarray(image)


def _outline(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if shape == "square":
        radii, count = [r] * 4, 4
    elif shape == "triangle":
        radii, count = [r] * 3, 3
    elif shape == "star":
        radii, count = [r, 0.42 * r] * 5, 10
    else:  # cross: a plus sign with arms a third of its width
        t = r / 3
        points = [
            (t, r),
            (t, t),
            (r, t),
            (r, -t),
            (t, -t),
            (t, -r),
            (-t, -r),
            (-t, -t),
            (-r, -t),
            (-r, t),
            (-t, t),
            (-t, r),
        ]
        c, s = math.cos(angle), math.sin(angle)
        return [(cx + px * c - py * s, cy + px * s + py * c) for px, py in points]
    return [
        (cx + rad * math.cos(angle + 2 * math.pi * k / count), cy + rad * math.sin(angle + 2 * math.pi * k / count))
        for k, rad in enumerate(radii)
    ]


def _contrasting(background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random colour clearly different from the background (shapes must stay visible)."""
    luma = np.array([0.299, 0.587, 0.114])
    for _ in range(50):
        colour = rng.integers(0, 256, 3)
        distinct = np.abs(colour.astype(int) - background.astype(int)).sum() > 200
        if distinct and abs(float((colour - background) @ luma)) >= MIN_LUMA_CONTRAST:
            return colour
    return np.zeros(3, int) if float(background @ luma) > 127 else np.full(3, 255)  # rare: black or white
