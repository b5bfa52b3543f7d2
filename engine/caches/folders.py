"""Where LayerLab's disk caches live and how big each may grow.

Two caches share one folder (`$LAYERLAB_HOME/cache` when that is set, else the platform's user
cache folder, e.g. ~/.cache/layerlab): `images/`, decoded and resized images of class folders
(`engine.caches.images`), and `features/`, outputs of frozen layers
(`engine.training.feature_cache`). Both can be deleted at any time: they only save work.
How full they are, and clearing them, is `engine.caches.usage`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from platformdirs import user_cache_path

IMAGES = "images"
FEATURES = "features"
KINDS = (IMAGES, FEATURES)
DEFAULT_LIMITS = {IMAGES: 16 * 2**30, FEATURES: 8 * 2**30}
FREE_SPACE_SHARE = 2  # a cache never grows past half of the disk's free space


def cache_root() -> Path:
    """`$LAYERLAB_HOME/cache`, else the platform's user cache folder for LayerLab."""
    home = os.environ.get("LAYERLAB_HOME")
    if home:
        return Path(home).expanduser() / "cache"

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
