"""A drawing for a light-strokes-on-dark model is prepared the way MNIST was made: cropped to
its strokes, scaled to the dataset's box keeping its aspect, anti-aliased, centred by mass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.datasets.base import Dataset
from engine.images.prepare import prepare
from engine.images.spec import PreprocessSpec

MNIST_LIKE = PreprocessSpec(
    height=28,
    width=28,
    channels=1,
    polarity="light_on_dark",
    fit_content=True,
    content_margin=0.1,
    stroke_box=20 / 28,
    class_names=tuple("0123456789"),
)


def draw_seven(path: Path) -> tuple[Path, tuple[int, int, int, int]]:
    """A dark 7 on white paper, tall and off-centre on a wide sheet: (file, its ink box)."""
    image = Image.new("RGB", (500, 320), (245, 243, 240))
    draw = ImageDraw.Draw(image)
    draw.line([(320, 60), (420, 60)], fill=(25, 25, 35), width=16)
    draw.line([(420, 60), (350, 270)], fill=(25, 25, 35), width=16)
    image.save(path)
    ink = np.asarray(image.convert("L")) < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return path, (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    total = image.sum()
    return float(((ys + 0.5) * image).sum() / total), float(((xs + 0.5) * image).sum() / total)


def test_a_drawing_fills_the_box_keeping_its_aspect_and_is_centred_by_mass(tmp_path: Path) -> None:
    path, (top, left, bottom, right) = draw_seven(tmp_path / "seven.png")
    prepared = prepare(path, MNIST_LIKE)
    image = prepared.array[..., 0]
    assert image.shape == (28, 28) and image.max() == 255 and image[0].max() == 0 and image[:, 0].max() == 0
    rows, cols = np.flatnonzero((image > 40).any(axis=1)), np.flatnonzero((image > 40).any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert 19 <= height <= 21, "the longer side fills the 20-pixel box"
    assert width / height == pytest.approx((right - left) / (bottom - top), abs=0.12), "aspect kept"
    cy, cx = centre_of_mass(image)
    assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6
    assert 0 < ((image > 0) & (image < 255)).sum(), "edges are anti-aliased (grey levels)"
    # The placement maps the strokes back onto the drawing.
    y0, x0 = prepared.placement.to_original(rows[0] / 28, cols[0] / 28)
    y1, x1 = prepared.placement.to_original((rows[-1] + 1) / 28, (cols[-1] + 1) / 28)
    assert (y0 * 320, x0 * 500) == pytest.approx((top, left), abs=12)
    assert (y1 * 320, x1 * 500) == pytest.approx((bottom, right), abs=12)


def test_the_box_comes_from_the_dataset() -> None:
    """MNIST's digits fill 20 of 28 pixels; scikit-learn's 8×8 digits nearly all of theirs."""
    rng = np.random.default_rng(0)
    images = np.zeros((50, 28, 28, 1), np.uint8)
    for image in images:
        top, left = rng.integers(3, 6, 2)
        image[top : top + 20, left + 4 : left + 14] = 255
    mnist_like = Dataset(
        "m", list("ab"), images, np.arange(50) % 2, images[:10], np.arange(10) % 2, polarity="light_on_dark"
    )
    assert PreprocessSpec.from_dataset(mnist_like).stroke_box == pytest.approx(20 / 28, abs=0.01)
    from sklearn.datasets import load_digits

    digits = np.round(load_digits().images * 255 / 16).astype(np.uint8)[..., None]
    labels = load_digits().target
    spec = PreprocessSpec.from_dataset(
        Dataset("d", list("0123456789"), digits, labels, digits[:5], labels[:5], polarity="light_on_dark")
    )
    assert spec.stroke_box >= 0.85
    natural = Dataset("n", list("ab"), images, np.arange(50) % 2, images[:10], np.arange(10) % 2, polarity="natural")
    assert PreprocessSpec.from_dataset(natural).stroke_box is None


def test_an_image_already_shaped_like_the_data_is_left_as_it_is(tmp_path: Path) -> None:
    small = np.zeros((28, 28), np.uint8)
    small[2:8, 2:8] = 255
    Image.fromarray(small, "L").save(tmp_path / "small.png")
    prepared = prepare(tmp_path / "small.png", MNIST_LIKE)
    np.testing.assert_array_equal(prepared.array[..., 0], small)
