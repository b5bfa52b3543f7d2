"""Saved runs: listing them, opening one to classify with, comparing some."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import compare_runs as compare
from engine import default_grids_root, describe_runs
from engine import list_runs as listing
from engine import load_run as read
from engine import open_run as opened
from gui.dropping import expand_sources as expand
from gui.engine_startup import load_engine
from gui.tasks import Task


@dataclass(frozen=True)
class Listing:
    summaries: tuple[Any, ...]  # engine.RunSummary, newest first
    lines: tuple[Any, ...]  # engine.RunLine of each: what tells it apart, where it came from


def list_runs(task: Task, root: Path | None) -> Listing:
    summaries = listing(root)
    return Listing(tuple(summaries), tuple(describe_runs(summaries, default_grids_root(root))))


def load_run(task: Task, path: str) -> Any:
    return read(path)


def open_run(task: Task, path: str) -> Any:
    """`engine.open_run`: the run, and a classifier for its model or why it has none (the engine
    is started only when there is a model to load)."""
    return opened(path, before_loading=load_engine)


def expand_sources(task: Task, raw: list[Any], limit: int) -> Any:
    """Dropped or pasted paths with folders replaced by their images (gui.dropping.Expanded)."""
    return expand(raw, limit, lambda: task.cancelled)


@dataclass(frozen=True)
class ComparedRuns:
    comparison: Any  # engine.Comparison
    histories: tuple[Any, ...]  # each run's list[EpochRecord], in the same order


def compare_runs(task: Task, paths: list[str]) -> ComparedRuns:
    comparison = compare(paths)
    task.check()
    return ComparedRuns(comparison, tuple(read(path).history for path in paths))
