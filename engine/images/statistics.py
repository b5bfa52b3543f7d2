"""What an image looks like, in a few numbers a person would name: how bright, how spread its grey
levels are, how much of it is background or ink, how many edges and how much fine texture, how
colourful, whether its border differs from its centre.

`image_statistics` measures them on images at a network's input size (the training images as they
are, any other image as `engine.images.prepare.as_given` shows it), so that the out-of-distribution
model (`engine.inference.ood`) can compare an image *as the user gave it* with the training images:
a photograph handed to a digits model is textured and has no dark background, whatever the
network's features make of it after the image was prepared.
"""

from __future__ import annotations

import numpy as np

HISTOGRAM_BINS = 8
# The names of the columns `image_statistics` returns, in order (a colour image adds `COLOUR`).
GREY = (
    *(f"grey level {i * 32}-{i * 32 + 31}" for i in range(HISTOGRAM_BINS)),
    "mean brightness",
    "spread of brightness",
    "share of dark pixels",
    "share of bright pixels",
    "edges",
    "spread of edges",
    "fine texture",
    "border minus centre",
    "two-tone separation",
)
COLOUR = ("colourfulness", "spread of colourfulness", "red-green", "yellow-blue")


def statistic_names(channels: int) -> tuple[str, ...]:
    return GREY + (COLOUR if channels == 3 else ())


def image_statistics(images: np.ndarray) -> np.ndarray:
    """(N, D) float32 statistics of uint8 images (N, H, W, C), C 1 or 3 (see `statistic_names`)."""
    x = np.asarray(images, np.float32) / 255.0
    if x.ndim == 3:
        x = x[..., None]
    n, height, width, channels = x.shape
    grey = x[..., 0] if channels == 1 else x @ np.array([0.299, 0.587, 0.114], np.float32)
    flat = grey.reshape(n, -1)
    bins = np.minimum((flat * HISTOGRAM_BINS).astype(np.int64), HISTOGRAM_BINS - 1)
    histogram = np.stack([(bins == b).mean(axis=1) for b in range(HISTOGRAM_BINS)], axis=1)
    across = np.abs(np.diff(grey, axis=2)).reshape(n, -1) if width > 1 else np.zeros((n, 1), np.float32)
    down = np.abs(np.diff(grey, axis=1)).reshape(n, -1) if height > 1 else np.zeros((n, 1), np.float32)
    edges = np.concatenate([across, down], axis=1)
    columns = [
        histogram,
        flat.mean(axis=1, keepdims=True),
        flat.std(axis=1, keepdims=True),
        (flat < 0.1).mean(axis=1, keepdims=True),
        (flat > 0.9).mean(axis=1, keepdims=True),
        edges.mean(axis=1, keepdims=True),
        edges.std(axis=1, keepdims=True),
        _fine_texture(grey)[:, None],
        _border_minus_centre(grey)[:, None],
        _two_tone(flat)[:, None],
    ]
    if channels == 3:
        columns.append(_colour(x))
    return np.concatenate(columns, axis=1).astype(np.float32)


def _fine_texture(grey: np.ndarray) -> np.ndarray:
    """Mean absolute second difference (a discrete Laplacian): fine texture and noise, which
    smooth strokes and flat backgrounds lack."""
    if min(grey.shape[1:]) < 3:
        return np.zeros(len(grey), np.float32)
    centre = grey[:, 1:-1, 1:-1]
    laplacian = 4 * centre - grey[:, :-2, 1:-1] - grey[:, 2:, 1:-1] - grey[:, 1:-1, :-2] - grey[:, 1:-1, 2:]
    return np.abs(laplacian).reshape(len(grey), -1).mean(axis=1)


def _border_minus_centre(grey: np.ndarray) -> np.ndarray:
    """Mean of the outer quarter's ring minus the mean of the inner half: positive for a frame,
    negative for a bright subject on a dark ground (a digit), near 0 for a scene."""
    n, height, width = grey.shape
    top, left = height // 4, width // 4
    inner = np.zeros((height, width), bool)
    inner[top : height - top, left : width - left] = True
    if inner.all() or not inner.any():
        return np.zeros(n, np.float32)
    return grey[:, ~inner].mean(axis=1) - grey[:, inner].mean(axis=1)


def _two_tone(flat: np.ndarray) -> np.ndarray:
    """Otsu's separation (between-class over total variance, 0..1) at the best of 15 thresholds:
    near 1 for ink on a plain ground, lower for the continuous tones of a photograph."""
    total = flat.var(axis=1)
    best = np.zeros(len(flat), np.float32)
    for threshold in np.linspace(1 / 16, 15 / 16, 15):
        low = flat < threshold
        share = low.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            low_mean = np.where(share > 0, (flat * low).sum(axis=1) / np.maximum(low.sum(axis=1), 1), 0)
            high_mean = np.where(share < 1, (flat * ~low).sum(axis=1) / np.maximum((~low).sum(axis=1), 1), 0)
        between = share * (1 - share) * (high_mean - low_mean) ** 2
        best = np.maximum(best, between)
    return np.where(total > 1e-8, best / np.maximum(total, 1e-8), 1.0).astype(np.float32)


def _colour(x: np.ndarray) -> np.ndarray:
    """Colourfulness (max − min channel) and its spread; the mean red-green and yellow-blue
    opponents (Hasler and Süsstrunk's axes)."""
    n = len(x)
    chroma = (x.max(axis=-1) - x.min(axis=-1)).reshape(n, -1)
    red, green, blue = x[..., 0].reshape(n, -1), x[..., 1].reshape(n, -1), x[..., 2].reshape(n, -1)
    return np.stack(
        [
            chroma.mean(axis=1),
            chroma.std(axis=1),
            (red - green).mean(axis=1),
            ((red + green) / 2 - blue).mean(axis=1),
        ],
        axis=1,
    )
