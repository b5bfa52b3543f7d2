"""Decode any image a user may drop, or refuse it with a message that says why.

Pillow does the decoding, but only of the formats LayerLab means to support (`ACCEPTED_FORMATS`,
passed to `Image.open(formats=...)`: an EPS or PDF file never reaches Ghostscript), and only of
regular files of a bounded size (`engine.core.files`). This module normalises what comes out (first
frame of animations, EXIF rotation, 16-bit and float images scaled rather than clipped,
CMYK/palette/alpha converted, transparency on white) into 8-bit "L" or "RGB", and turns every
failure into an `ImageError`.

Every allocation a file's header decides is bounded before it happens: the pixel count at the
header (`max_pixels`), and `to_array` resizes before it pads, so its canvas is never bigger than
the target, whatever the aspect ratio (a 1×100 000 image does not become 100 000×100 000).
"""

from __future__ import annotations

import io
import math
import os
import stat
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, get_args

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.core.errors import ImageError
from engine.core.files import check_regular_file, printable_name, read_regular_file

# Pillow's names of the formats LayerLab decodes (PPM covers the Netpbm family: PBM, PGM, PPM).
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")
ACCEPTED_TEXT = "PNG, JPEG, GIF, BMP, TIFF, WebP, PPM/PGM"
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".pnm")
DEFAULT_MAX_PIXELS = 100_000_000
EXIF_ORIENTATION = 0x0112
MAX_IMAGE_FILE_BYTES = 256 * 2**20

_SIGNATURES = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
    b"\x7fELF": "a program",
    b"%!PS": "a PostScript (EPS) document",
    b"\xc5\xd0\xd3\xc6": "a PostScript (EPS) document",
    b"\x89HDF": "an HDF5 file",
}

ImageSource = str | Path | bytes | Image.Image
_WARNINGS_LOCK = threading.Lock()

# How an image is shrunk to a network's input: both rules first shrink by a whole factor (a JPEG
# decoded at a reduced scale, a box filter otherwise), then resample the rest.
# "bilinear": whole factors down to just above the target, then an antialiased bilinear filter:
#   ~2.5× faster to decode a photo, what new runs use.
# "lanczos": whole factors only down to 3× the target, then Lanczos: a little sharper; every run
#   made before the rule was recorded (config schema 1, a preprocess.json without "resample").
Resample = Literal["bilinear", "lanczos"]
RESAMPLE_RULES: tuple[str, ...] = get_args(Resample)
DEFAULT_RESAMPLE: Resample = "bilinear"
LEGACY_RESAMPLE: Resample = "lanczos"


def open_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_size: tuple[int, int] | None = None,
    draft_fit: bool = False,
) -> Image.Image:
    """Decode `source` to an 8-bit "L" or "RGB" image; raise `ImageError` with a reason otherwise.

    `draft_size` lets a JPEG be decoded at a reduced scale (1/2, 1/4, 1/8), which is much
    faster for a big photo: the smallest scale whose result still reaches `draft_size` on both
    sides, or (`draft_fit`) whose result still covers the image fitted inside `draft_size`, its
    aspect kept, in either orientation (EXIF may turn it)."""
    if isinstance(source, Image.Image):
        try:
            image = _normalise(_first_frame(source), "the image")
            return image.copy() if image is source else image  # never the caller's own object
        except (ValueError, OSError) as err:
            raise ImageError(f"the image cannot be used ({_first_line(err)})") from None
    name, data = _read(source)
    _refuse_known_non_images(data, name)
    try:
        image = _open_header(data, name, max_pixels)
        if draft_size and image.format == "JPEG":
            image.draft(
                "RGB" if image.mode != "L" else "L", _fitted_box(image.size, draft_size) if draft_fit else draft_size
            )
        image = _first_frame(image)
        image.load()
        return _normalise(image, name)
    except Exception as err:  # any failure of a decoder on a user's file is that file's fault
        raise _decoder_error(err, name, data) from None


def open_for_network(source: ImageSource, side: int, resample: Resample) -> Image.Image:
    """`open_image` the way a network input of `side` pixels is decoded by the `resample` rule:
    a JPEG at the smallest reduced scale that still covers its size fitted inside the side
    ("bilinear": the decoder's scaling is the first whole-factor reduce), or that reaches twice
    the side on both sides ("lanczos", as runs made before the rule was recorded)."""
    if resample == LEGACY_RESAMPLE:
        return open_image(source, draft_size=(side * 2, side * 2))
    return open_image(source, draft_size=(side, side), draft_fit=True)


def _fitted_box(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size an image of `size` needs to keep to cover `box` once fitted inside it, whichever
    way round it ends up."""
    width, height = size
    scale = max(min(box[0] / width, box[1] / height), min(box[0] / height, box[1] / width))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _refuse_known_non_images(head: bytes, name: str) -> None:
    """Documents and programs by their first bytes, refused with what they are."""
    kind = next((what for magic, what in _SIGNATURES.items() if head.startswith(magic)), None)
    if kind:
        raise ImageError(f"{name} is {kind}, not an image LayerLab can read (it reads {ACCEPTED_TEXT})")


def _decoder_error(err: Exception, name: str, data: bytes) -> ImageError:
    """What an exception from opening or decoding `name` (whose bytes, or first bytes, are
    `data`) tells the user."""
    if isinstance(err, ImageError):
        return err
    if isinstance(err, UnidentifiedImageError):
        claimed = _claimed_format(data)
        if claimed is not None:  # a PNG with a bad checksum is a damaged PNG, not an unknown format
            return ImageError(f"{name} looks like a {claimed[0]} file but is damaged ({claimed[1]})")
        return ImageError(f"{name} is not an image LayerLab can read (it reads {ACCEPTED_TEXT})")
    if isinstance(err, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return ImageError(f"{name} is too large to decode safely")
    if isinstance(err, MemoryError):
        return ImageError(f"{name} is too large to decode in the memory available")
    return ImageError(f"{name} is damaged or truncated ({_first_line(err)})")


def _claimed_format(data: bytes) -> tuple[str, str] | None:
    """(format, what its decoder found wrong) when `data` starts like a format LayerLab reads, whose
    decoder then refused it; None when no accepted format recognises the first bytes."""
    Image.init()
    for fmt in ACCEPTED_FORMATS:
        factory, accept = Image.OPEN.get(fmt, (None, None))
        if factory is None or accept is None or not accept(data[:16]) or isinstance(accept(data[:16]), str):
            continue
        try:
            factory(io.BytesIO(data), "")
        except Exception as err:  # what the format's own decoder says is wrong
            return fmt, _first_line(err)
        return fmt, "its decoder refused it"
    return None


def _open_header(data: bytes | BinaryIO, name: str, max_pixels: int) -> Image.Image:
    """Parse the header only, of an accepted format, and check the pixel count before anything
    is decoded.

    Pillow signals a decompression bomb with a *warning* below twice its limit; we turn it into an
    error inside `catch_warnings`. That context manager edits process-wide filters and is not
    thread-safe, so it is held under a lock, and only around this cheap header parse (folder
    datasets decode in threads; the expensive `load()` runs outside the lock).
    """
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        image = Image.open(stream, formats=ACCEPTED_FORMATS)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(f"{name} is too large ({width}×{height} pixels; the limit is {max_pixels:,})")
    if width == 0 or height == 0:
        raise ImageError(f"{name} has no pixels")
    return image


# The modes `_normalise` turns into "L" (one channel); it turns every other mode into "RGB".
GREY_MODES = frozenset({"L", "1", "LA", "La", "I", "F", "I;16", "I;16B", "I;16L", "I;16N"})


@dataclass(frozen=True)
class ImageProbe:
    """What a file's header says: its size, its mode, and so the channels `open_image` gives."""

    width: int
    height: int
    mode: str

    @property
    def channels(self) -> int:
        return 1 if self.mode in GREY_MODES else 3


def probe_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageProbe:
    """Check `path` as `open_image` would, from its header alone (nothing is decoded).

    Refused with the same `ImageError`s as `open_image`: special files and bad sizes, documents
    and programs, formats outside the allow-list, unreadable headers, too many pixels. A folder of
    25 000 photos is checked in seconds this way. A file that passes can still fail to decode
    (data damaged past its header); whoever decodes it then reports it.
    """
    name = printable_name(path)
    with _open_regular(path, name) as stream:
        _refuse_known_non_images(stream.read(16), name)
        stream.seek(0)
        try:
            image = _open_header(stream, name, max_pixels)  # the mode at open is the first frame's
            return ImageProbe(image.width, image.height, image.mode)
        except Exception as err:  # a header a decoder cannot parse is the file's fault
            stream.seek(0)
            raise _decoder_error(err, name, stream.read(1 << 16)) from None


def _open_regular(path: str | Path, name: str) -> BinaryIO:
    """A file object on a regular file of bounded size, opened without blocking (see `engine.core.files`)."""
    check_regular_file(path, max_bytes=MAX_IMAGE_FILE_BYTES, error=ImageError, what="image")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(Path(path).expanduser(), flags)
    except OSError as err:
        raise ImageError(f"cannot read {name}: {err.strerror or err}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ImageError(f"{name} is not a regular image; LayerLab only reads regular files")
    return os.fdopen(fd, "rb")


def _read(source: str | Path | bytes) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError("the image data is empty")
        if len(source) > MAX_IMAGE_FILE_BYTES:
            raise ImageError("the image data is too big")
        return "the image", bytes(source)
    data = read_regular_file(source, max_bytes=MAX_IMAGE_FILE_BYTES, error=ImageError, what="an image")
    return printable_name(source), data


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _first_frame(image: Image.Image) -> Image.Image:
    """The first frame, turned upright by its EXIF orientation (the image itself when upright:
    `exif_transpose` would copy it)."""
    if getattr(image, "is_animated", False):
        image.seek(0)
    try:
        if image.getexif().get(EXIF_ORIENTATION, 1) == 1:
            return image
        return ImageOps.exif_transpose(image) or image
    except Exception:  # a broken EXIF block should not cost the user the image
        return image


def _normalise(image: Image.Image, name: str) -> Image.Image:
    mode = image.mode
    if mode in ("L", "RGB"):
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_to_8bit(np.asarray(image), mode, name)
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


def _scale_to_8bit(values: np.ndarray, mode: str, name: str) -> Image.Image:
    """16-bit / 32-bit / float greys to 8 bits by scaling, never by clipping.

    "I;16*" is 16-bit by definition: divide by 65535 (a dim 16-bit scan stays dim). "I" (32-bit,
    e.g. a 16-bit PNG from older Pillow) is read as 16-bit when within 0..65535, else min..max.
    "F" within 0..1 is scaled by 255, otherwise min..max. A float image with NaN or infinite
    pixels is refused: there is no honest way to draw them (NaN would silently become black).
    The arithmetic runs in place on one float64 copy, to keep big images' memory bounded.
    """
    values = values.astype(np.float64)
    if mode == "F" and not np.isfinite(values).all():
        raise ImageError(
            f"{name} has NaN or infinite pixel values (a float image with missing data), "
            "which LayerLab cannot show to a network"
        )
    low, high = float(values.min(initial=0)), float(values.max(initial=0))
    if mode.startswith("I;16") or (mode == "I" and low >= 0 and high <= 65535):
        low, high = 0.0, 65535.0
    elif mode == "F" and low >= 0 and high <= 1:
        low, high = 0.0, 1.0
    values -= low
    values /= max(high - low, 1e-12)
    values *= 255.0
    np.round(values, out=values)
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8), "L")


def border_colour(image: Image.Image) -> int | tuple[int, ...]:
    """The median colour of the image's outermost pixels (read from four one-pixel strips, so a
    huge image is never copied whole)."""
    width, height = image.size
    strips = [
        image.crop(box)
        for box in ((0, 0, width, 1), (0, height - 1, width, height), (0, 0, 1, height), (width - 1, 0, width, height))
    ]
    pixels = np.concatenate([np.asarray(strip).reshape(-1, len(image.getbands())) for strip in strips])
    colour = np.median(pixels, axis=0)
    return int(colour[0]) if len(colour) == 1 else tuple(int(c) for c in colour)


def to_array(
    image: Image.Image,
    size: tuple[int, int],
    channels: int,
    pad_to_square: bool = True,
    resample: Resample = LEGACY_RESAMPLE,
) -> np.ndarray:
    """Resize to `size` (height, width) with `channels` 1 or 3 by the `resample` rule: uint8
    array (H, W, C).

    With `pad_to_square` the aspect ratio is kept: the image is resized to fit inside the target,
    then padded (centred) to the target's shape with the image's own border colour, so a photo on
    white paper pads white and shapes are not squashed. Resizing before padding means no canvas
    is ever bigger than the target, whatever the aspect ratio. Training data and inference both go
    through here, so it must stay deterministic: same image in, same pixels out.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, not {channels}")
    mode = "L" if channels == 1 else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    height, width = size
    if pad_to_square and image.size != (width, height):
        fill = border_colour(image)
        scale = min(width / image.width, height / image.height)
        fitted = (min(width, max(1, round(image.width * scale))), min(height, max(1, round(image.height * scale))))
        image = _resize(image, fitted, resample)
        if image.size != (width, height):
            canvas = Image.new(image.mode, (width, height), fill)
            canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
            image = canvas
    image = _resize(image, (width, height), resample)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def _resize(image: Image.Image, size: tuple[int, int], resample: Resample = LEGACY_RESAMPLE) -> Image.Image:
    """Shrinking along any side: whole factors with a box filter first (Pillow's `reducing_gap`:
    down to just above the target for "bilinear", to 3× it for "lanczos"), then the rule's filter.
    Enlarging: bilinear."""
    if image.size == size:
        return image
    if image.width > size[0] or image.height > size[1]:
        if resample == "bilinear":
            return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
        return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image.resize(size, Image.Resampling.BILINEAR)


def reduce_to_side(image: Image.Image, longest: int) -> Image.Image:
    """The image shrunk by a whole factor (a fast box filter) until its longest side is at most
    `longest`; unchanged when it already is. Bounds the memory of any later full-size step."""
    factor = math.ceil(max(image.size) / max(1, longest))
    return image.reduce(factor) if factor > 1 else image
