"""Where LayerLab's disk caches live, how big they are, and how to clear them.

Two caches share one folder (`$LAYERLAB_HOME/cache` when that is set, else the platform's user
cache folder, e.g. ~/.cache/layerlab): `images/`, decoded and resized images of class folders
(`engine.datasets.image_cache`), and `features/`, outputs of frozen layers
(`engine.training.feature_cache`). Both can be deleted at any time: they only save work.
This module is cheap (no TensorFlow), so `layerlab-cli cache` answers at once.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

IMAGES = "images"
FEATURES = "features"
KINDS = (IMAGES, FEATURES)
DEFAULT_LIMITS = {IMAGES: 16 * 2**30, FEATURES: 8 * 2**30}
FREE_SPACE_SHARE = 2      # a cache never grows past half of the disk's free space


def cache_root() -> Path:
    """`$LAYERLAB_HOME/cache`, else the platform's user cache folder for LayerLab."""
    home = os.environ.get("LAYERLAB_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    from platformdirs import user_cache_path

    return user_cache_path("layerlab", appauthor=False)


def cache_dir(kind: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown cache {kind!r}")
    return cache_root() / kind


def default_limit_bytes(kind: str) -> int:
    """The kind's default size limit, lowered to half the free disk space where that is less."""
    limit = DEFAULT_LIMITS[kind]
    folder = cache_root()
    probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if probe is not None:
        try:
            limit = min(limit, shutil.disk_usage(probe).free // FREE_SPACE_SHARE + folder_bytes(cache_dir(kind)))
        except OSError:
            pass
    return int(limit)


@dataclass(frozen=True)
class CacheUsage:
    """One cache's folder, the bytes its files take, how many entries it holds, its default limit."""

    kind: str
    path: Path
    bytes: int
    entries: int
    limit_bytes: int


def cache_usage() -> list[CacheUsage]:
    """Usage of every cache kind (a missing folder is an empty cache)."""
    return [CacheUsage(kind, cache_dir(kind), folder_bytes(cache_dir(kind)), _entries(kind),
                       default_limit_bytes(kind)) for kind in KINDS]


def clear_caches(kinds: tuple[str, ...] = KINDS) -> int:
    """Delete the given caches; the bytes freed. Safe while nothing is training: caches only save work."""
    freed = 0
    for kind in kinds:
        folder = cache_dir(kind)
        freed += folder_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return freed


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files under `folder` (links not followed); 0 if it does not exist."""
    total = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += info.st_size if not os.path.islink(os.path.join(dirpath, name)) else 0
    return total


def _entries(kind: str) -> int:
    """Images held (image cache) or feature sets held (feature cache)."""
    folder = cache_dir(kind)
    if not folder.is_dir():
        return 0
    if kind == IMAGES:
        from engine.datasets.image_cache import count_entries

        return count_entries(folder)
    return sum(1 for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
