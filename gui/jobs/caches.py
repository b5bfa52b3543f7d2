"""The disk caches: how full they are, and clearing them."""

from __future__ import annotations

from typing import Any

from engine import cache_usage as usage
from engine import clear_caches as clear
from gui.tasks import Task


def cache_usage(task: Task) -> list[Any]:
    return usage()


def clear_caches(task: Task) -> int:
    """Bytes freed (the caches only save work: everything is decoded or computed again when needed)."""
    return clear()
