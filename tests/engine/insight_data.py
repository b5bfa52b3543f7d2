"""Small generated data for the insight tests: images whose right answer and evidence are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SIDE = 32


def square_scene(
    rng: np.random.Generator, width: int = SIDE, height: int = SIDE, square: bool = True
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """A dark, noisy grey picture, with a bright square somewhere when `square`: (uint8 (H, W),
    the square's (top, left, bottom, right) in pixels, bottom/right exclusive, or None)."""
    image = np.clip(rng.normal(90, 15, (height, width)), 0, 255)
    box = None
    if square:
        side = int(rng.integers(6, 11))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        image[top : top + side, left : left + side] = rng.uniform(200, 255)
        box = (top, left, top + side, left + side)
    return image.round().astype(np.uint8), box


def square_npz(path: Path, count: int = 600, seed: int = 0) -> Path:
    """Class 0 "square" (a bright square at a random place) and class 1 "empty", as an .npz."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 2
    images = np.stack([square_scene(rng, square=label == 0)[0] for label in labels])
    np.savez(path, x=images[..., None], y=labels, class_names=np.array(["square", "empty"]))
    return path


def save_grey(array: np.ndarray, path: Path) -> Path:
    Image.fromarray(array, "L").save(path)
    return path
