"""Turn drops, pastes and file dialogs into image sources for the classifier (no TensorFlow).

A source is a path (str) or encoded image bytes (a pasted bitmap). Folders expand to the image
files inside them; other files are passed on as they are, so the engine can say why one is not
an image instead of the window silently ignoring it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData
from PySide6.QtGui import QImage

MAX_FILES = 200
_FALLBACK_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def image_extensions() -> frozenset[str]:
    try:
        from engine.images import IMAGE_EXTENSIONS
    except ImportError:
        return _FALLBACK_EXTENSIONS
    return frozenset(e.lower() for e in IMAGE_EXTENSIONS)


def expand_paths(paths: list[str | Path], limit: int = MAX_FILES) -> list[str]:
    """Files as given; folders replaced by their image files (recursively, sorted), at most `limit`."""
    extensions = image_extensions()
    out: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in extensions)
        else:
            out.append(str(path))
        if len(out) >= limit:
            break
    return out[:limit]


def qimage_to_png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def sources_from_mime(mime: QMimeData | None) -> list[str | bytes]:
    """Local files/folders named by the mime data, else its bitmap as PNG bytes."""
    if mime is None:
        return []
    if mime.hasUrls():
        paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        if paths:
            return list(expand_paths(paths))
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return [qimage_to_png(image)]
    return []


def accepts(mime: QMimeData | None) -> bool:
    return mime is not None and (mime.hasUrls() or mime.hasImage())
