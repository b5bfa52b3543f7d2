"""Drops, pastes and file dialogs become image sources for the classifier.

A source is a path (str) or encoded image bytes (a pasted bitmap). Reading the mime data is the
only part that runs on the UI thread; folders are expanded by `expand_sources`, in a background
task, because a folder may be huge (`/usr`) or slow (a network share). Files that are not images
are passed on as they are, so the engine can say why one is not an image instead of the window
silently ignoring it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_to_bytes

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QUrl
from PySide6.QtGui import QImage

MAX_FILES = 200
_FALLBACK_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def image_extensions() -> frozenset[str]:
    try:
        from engine import IMAGE_EXTENSIONS
    except ImportError:
        return _FALLBACK_EXTENSIONS
    return frozenset(e.lower() for e in IMAGE_EXTENSIONS)


@dataclass
class Expanded:
    """What a drop or paste expands to, and what the user must be told about it."""

    sources: list[str | bytes] = field(default_factory=list)
    truncated: bool = False  # more images than `limit`: the rest left out
    empty_folders: list[str] = field(default_factory=list)  # folders without a single image


def expand_sources(
    raw: list[str | bytes], limit: int = MAX_FILES, cancelled: Callable[[], bool] = lambda: False
) -> Expanded:
    """Files and bytes as given; folders replaced by their image files (recursively, sorted), at most `limit`."""
    extensions = image_extensions()
    out = Expanded()
    for source in raw:
        if len(out.sources) >= limit:
            out.truncated = True
            break
        if isinstance(source, (bytes, bytearray)) or not os.path.isdir(source):
            out.sources.append(source)
            continue
        found = _images_in(Path(source), extensions, limit - len(out.sources) + 1, cancelled)
        if not found:
            out.empty_folders.append(str(source))
        out.truncated |= len(found) > limit - len(out.sources)
        out.sources.extend(found[: limit - len(out.sources)])
    return out


def _images_in(folder: Path, extensions: frozenset[str], at_most: int, cancelled: Callable[[], bool]) -> list[str]:
    """Up to `at_most` image files under `folder`, in a stable order, skipping hidden folders."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder, onerror=lambda err: None):
        if cancelled():
            break
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in extensions:
                found.append(os.path.join(root, name))
                if len(found) >= at_most:
                    return found
    return found


def qimage_to_png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def local_path(url: QUrl) -> str:
    """The file a `file:` URL names, byte for byte. `QUrl.toLocalFile` decodes the name as UTF-8
    and puts U+FFFD where it is not, so a file named in another encoding (a Latin-1 "café.png")
    would be "not found"; the percent-encoded bytes, decoded as the file system does, name it."""
    if os.name == "nt" or url.host() not in ("", "localhost"):  # drive letters, network shares: Qt's rule
        return url.toLocalFile()
    return os.fsdecode(unquote_to_bytes(url.path(QUrl.ComponentFormattingOption.FullyEncoded)))


def sources_from_mime(mime: QMimeData | None) -> list[str | bytes]:
    """Local files/folders named by the mime data (not yet expanded), else its bitmap as PNG bytes."""
    if mime is None:
        return []
    if mime.hasUrls():
        paths = [local_path(url) for url in mime.urls() if url.isLocalFile()]
        if paths:
            return list(paths)
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return [qimage_to_png(image)]
    return []


def accepts(mime: QMimeData | None) -> bool:
    return mime is not None and (mime.hasUrls() or mime.hasImage())
