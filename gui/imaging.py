"""NumPy image arrays ↔ Qt images, and thumbnail mosaics (no TensorFlow)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def to_uint8(array: np.ndarray) -> np.ndarray:
    """Any (H, W), (H, W, 1) or (H, W, 3) image, float 0..255 or uint8, as contiguous uint8."""
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        arr = np.clip(np.nan_to_num(arr.astype(np.float32)), 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    return np.ascontiguousarray(arr)


def array_to_qimage(array: np.ndarray) -> QImage:
    """A deep copy, so the QImage outlives the array it came from."""
    arr = to_uint8(array)
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        image = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_Grayscale8)
    else:
        image = QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)
    return image.copy()


def array_to_pixmap(array: np.ndarray, side: int, *, smooth: bool | None = None) -> QPixmap:
    """Scale to fit a `side`×`side` box; tiny images (the network's view) stay crisp pixels."""
    image = array_to_qimage(array)
    if smooth is None:
        smooth = max(image.width(), image.height()) >= side
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    scaled = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return QPixmap.fromImage(scaled)


def mosaic(images: np.ndarray, columns: int, gap: int = 2, fill: int = 40) -> np.ndarray:
    """Lay N images (N, H, W, C) out in a grid, `gap` pixels apart; uint8 (h, w, C)."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    rows = max(1, -(-n // columns))
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, c), fill, np.uint8)
    for i, image in enumerate(images):
        r, col = divmod(i, columns)
        out[r * (h + gap) : r * (h + gap) + h, col * (w + gap) : col * (w + gap) + w] = to_uint8(image).reshape(h, w, c)
    return out
