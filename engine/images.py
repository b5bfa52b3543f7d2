"""Decode any image a user may drop, or refuse it with a message that says why.

Pillow does the decoding; this module normalises what comes out (first frame of animations,
EXIF rotation, 16-bit and float images scaled rather than clipped, CMYK/palette/alpha converted,
transparency on white) into 8-bit "L" or "RGB", and turns every failure into an `ImageError`.
"""
from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.errors import ImageError

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 100_000_000

_SIGNATURES = {b"%PDF": "a PDF document", b"PK\x03\x04": "a ZIP archive", b"\x7fELF": "a program"}

ImageSource = str | Path | bytes | Image.Image
_WARNINGS_LOCK = threading.Lock()


def open_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode `source` to an 8-bit "L" or "RGB" image; raise `ImageError` with a reason otherwise."""
    if isinstance(source, Image.Image):
        return _normalise(_first_frame(source))
    name, data = _read(source)
    kind = next((what for magic, what in _SIGNATURES.items() if data.startswith(magic)), None)
    if kind:
        raise ImageError(f"{name} is {kind}, not an image LayerLab can read")
    try:
        image = _open_header(data, name, max_pixels)
        if draft_size and image.format == "JPEG":
            image.draft("RGB" if image.mode != "L" else "L", draft_size)
        image = _first_frame(image)
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image LayerLab can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name} is too large to decode safely") from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError) as err:
        raise ImageError(f"{name} is damaged or truncated ({err})") from None
    return _normalise(image)


def _open_header(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Parse the header only and check the pixel count before anything is decoded.

    Pillow signals a decompression bomb with a *warning* below twice its limit; we turn it into an
    error inside `catch_warnings`. That context manager edits process-wide filters and is not
    thread-safe, so it is held under a lock, and only around this cheap header parse (folder
    datasets decode in threads; the expensive `load()` runs outside the lock).
    """
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"{name} is too large ({width}×{height} pixels; the limit is {max_pixels:,})")
    if width == 0 or height == 0:
        raise ImageError(f"{name} has no pixels")
    return image


def _read(source: str | Path | bytes) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError("the image data is empty")
        return "the image", bytes(source)
    path = Path(source).expanduser()
    if path.is_dir():
        raise ImageError(f"{path.name} is a folder, not an image")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"file not found: {path}") from None
    except OSError as err:
        raise ImageError(f"cannot read {path}: {err.strerror or err}") from None
    if not data:
        raise ImageError(f"{path.name} is an empty file")
    return path.name, data


def _first_frame(image: Image.Image) -> Image.Image:
    if getattr(image, "is_animated", False):
        image.seek(0)
    try:
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a broken EXIF block should not cost the user the image
        return image


def _normalise(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("L", "RGB"):
        return image.copy() if image.mode else image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_to_8bit(np.asarray(image), mode)
    if mode == "1":
        return image.convert("L")
    if mode in ("P", "PA"):
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat = Image.alpha_composite(background, rgba)
        return flat.convert("L" if mode in ("LA", "La") else "RGB")
    return image.convert("RGB")  # CMYK, YCbCr, LAB, HSV...


def _scale_to_8bit(values: np.ndarray, mode: str) -> Image.Image:
    """16-bit / 32-bit / float greys to 8 bits by scaling, never by clipping.

    "I;16*" is 16-bit by definition: divide by 65535 (a dim 16-bit scan stays dim). "I" (32-bit,
    e.g. a 16-bit PNG from older Pillow) is read as 16-bit when within 0..65535, else min..max.
    "F" within 0..1 is scaled by 255, otherwise min..max.
    """
    values = values.astype(np.float64)
    low, high = float(values.min(initial=0)), float(values.max(initial=0))
    if mode.startswith("I;16") or (mode == "I" and low >= 0 and high <= 65535):
        low, high = 0.0, 65535.0
    elif mode == "F" and low >= 0 and high <= 1:
        low, high = 0.0, 1.0
    scaled = (values - low) / max(high - low, 1e-12) * 255.0
    return Image.fromarray(np.clip(np.round(scaled), 0, 255).astype(np.uint8), "L")


def to_array(image: Image.Image, size: tuple[int, int], channels: int, pad_to_square: bool = True) -> np.ndarray:
    """Resize to `size` (height, width) with `channels` 1 or 3: uint8 array (H, W, C).

    With `pad_to_square` the aspect ratio is kept by padding (to the target's shape, square for
    square targets) with the image's own border colour, so a photo on white paper pads white and
    shapes are not squashed. Training data and inference both go through here, so it must stay
    deterministic: same image in, same pixels out.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    image = image.convert("L" if channels == 1 else "RGB")
    height, width = size
    if pad_to_square:
        image = _pad_to_aspect(image, width / height)
    if image.size != (width, height):
        if image.width > width or image.height > height:  # shrinking: LANCZOS, with a fast pre-reduce
            image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        else:
            image = image.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def _pad_to_aspect(image: Image.Image, aspect: float) -> Image.Image:
    """Pad (centred) to width/height == `aspect` with the median colour of the image's border."""
    width = max(image.width, round(image.height * aspect))
    height = max(image.height, round(image.width / aspect))
    if (width, height) == image.size:
        return image
    array = np.asarray(image)
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    colour = np.median(border, axis=0)
    fill = int(colour) if image.mode == "L" else tuple(int(c) for c in colour)
    canvas = Image.new(image.mode, (width, height), fill)
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas
