"""How full LayerLab's disk caches are, and clearing them (`layerlab-cli cache`, the window's
caches dialog). Cheap (no TensorFlow), so `layerlab-cli cache` answers at once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.caches.folders import IMAGES, KINDS, cache_dir, default_limit_bytes, folder_bytes
from engine.caches.images import count_entries


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
    return [
        CacheUsage(kind, cache_dir(kind), folder_bytes(cache_dir(kind)), _entries(kind), default_limit_bytes(kind))
        for kind in KINDS
    ]


def clear_caches(kinds: tuple[str, ...] = KINDS) -> int:
    """Delete the given caches; the bytes freed. Safe while nothing is training: caches only save work."""
    freed = 0
    for kind in kinds:
        folder = cache_dir(kind)
        freed += folder_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return freed


def _entries(kind: str) -> int:
    """Images held (image cache) or feature sets held (feature cache)."""
    folder = cache_dir(kind)
    if not folder.is_dir():
        return 0
    if kind == IMAGES:
        return count_entries(folder)
    return sum(1 for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
