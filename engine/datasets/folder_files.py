"""The files of a class folder: found, identified for the cache, and checked from their headers.

A folder dataset holds one `ImageFile` per image (path, label, cache key, channel count), never
its pixels. Loading it costs a `stat` per file plus, for files the decoded-image cache does not
know yet, a header check (`engine.images.decode.probe_image`, a fraction of a millisecond): files that
are not images, documents, pipes, bombs and unreadable headers are skipped and listed before
training, and the channel count is known without decoding anything.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from engine.caches.images import ImageStore
from engine.core.errors import DatasetError, ImageError
from engine.images.decode import IMAGE_EXTENSIONS, probe_image

# Bumped whenever the decoding rules change (engine.images.decode, engine.datasets.decoding): old cache
# entries then no longer match any file.
DECODE_RULES_VERSION = 1


@dataclass(frozen=True, slots=True)
class ImageFile:
    """One image of a folder dataset: where it is, its class, its cache key, its channel count."""

    path: str
    label: int
    key: bytes
    channels: int


def list_class_files(root: Path, require_classes: bool = True) -> tuple[list[Path], list[int], list[str]]:
    """(paths, labels, class names) of `root/<class>/**/*.<image extension>`, sorted, hidden files
    and folders left out. Anything named like an image that is not a folder is listed: the header
    check then says why a pipe, a dangling link or an unreadable file is skipped."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if require_classes and len(classes) < 2:
        found = f"only '{classes[0]}'" if classes else "no sub-folders"
        raise DatasetError(f"{root} needs one sub-folder per class, at least two; it has {found}")
    files, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / name).rglob("*")):
            hidden = any(part.startswith(".") for part in path.relative_to(root / name).parts)
            if not hidden and path.suffix.lower() in IMAGE_EXTENSIONS and not path.is_dir():
                files.append(path)
                labels.append(label)
    return files, labels, classes


def file_key(path: str, info: os.stat_result) -> bytes:
    """Identifies a file's content for the cache: its absolute path, size, modification and change
    times and inode. Touching, rewriting or replacing the file changes it."""
    digest = hashlib.blake2b(digest_size=16)
    identity = (
        DECODE_RULES_VERSION,
        os.path.abspath(path),
        info.st_size,
        info.st_mtime_ns,
        info.st_ctime_ns,
        info.st_ino,
        info.st_dev,
    )
    digest.update(repr(identity).encode("utf-8", "surrogateescape"))
    return digest.digest()


def check_files(
    paths: list[Path], labels: list[int], store: ImageStore | None
) -> tuple[list[ImageFile], list[tuple[str, str]]]:
    """The readable images among `paths` (with their keys and channel counts) and the rest, each
    with its reason. The cache answers for files it has seen; the others get a header check."""
    files: list[ImageFile] = []
    skipped: list[tuple[str, str]] = []
    for path, label in zip(paths, labels):
        text = str(path)
        try:
            key, channels = _identify(text, store)
        except ImageError as err:
            skipped.append((text, str(err)))
            continue
        files.append(ImageFile(text, int(label), key, channels))
    return files, skipped


def _identify(path: str, store: ImageStore | None) -> tuple[bytes, int]:
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        probe_image(path)  # raises the reason (dangling link, pipe, ...)
        raise ImageError(f"{path} is not a regular file")
    key = file_key(path, info)
    if store is not None:
        channels = store.channels(key)
        if channels is not None:
            return key, channels
        reason = store.failure(key)
        if reason is not None:
            raise ImageError(reason)
    return key, probe_image(path).channels
