"""Telling runs apart in a list: each run named by what differs from the runs around it.

Four runs of a grid used to read as four identical "mlp on digits" lines. A run of a grid is
named by its grid's factors for its cell ("dropout 0.5 · bn on", and its repeat when the grid
has several); any other run by the settings that differ from its neighbours in the list (the
same words `compare_runs` uses), or by its model and data when nothing around it differs. Its
kind says where it came from: a grid, a lesson, or the user's own experiment. Cheap: reads the
grids' `grid.json` files, and the configs the summaries already hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.core.errors import LayerLabError
from engine.experiments.compare import config_differences, label_run
from engine.experiments.grid import grid_cells, settings_label, spec_of_record
from engine.experiments.grid_files import read_grid_record, run_path
from engine.experiments.settings import format_value


@dataclass(frozen=True)
class RunLine:
    """How the runs list shows one run (`engine.RunSummary`) beside the others."""

    what: str  # "dropout 0.5 · bn on", "lr 0.0005", "mlp on digits"
    kind: str = ""  # "grid" | "lesson" | "" (the user's own experiment)
    source: str = ""  # the grid folder, or the lesson's name ("" for the user's own)


@dataclass(frozen=True)
class GridMembership:
    grid_dir: str
    settings: dict[str, Any]
    repeat: int
    repeats: int


def describe_runs(summaries: list[Any], grids_root: Path | None = None) -> list[RunLine]:
    """One line per summary (`engine.list_runs`' order: each compared with the runs beside it)."""
    grids = grid_memberships(grids_root) if grids_root is not None else {}
    return [_line(summaries, i, grids) for i in range(len(summaries))]


def grid_memberships(grids_root: Path) -> dict[str, GridMembership]:
    """Run folder (resolved) → the grid it belongs to, its cell's settings and repeat. Grids that
    cannot be read are left out (their runs then read as ordinary runs)."""
    found: dict[str, GridMembership] = {}
    try:
        folders = sorted(p for p in Path(grids_root).iterdir() if p.is_dir())
    except OSError:
        return found
    for grid_dir in folders:
        try:
            record = read_grid_record(grid_dir)
            cells = grid_cells(spec_of_record(record, str(grid_dir)))
        except LayerLabError:
            continue
        for run in record.runs:
            if run.run_dir is not None:
                key = _key(run_path(grid_dir, run.run_dir))
                found[key] = GridMembership(str(grid_dir), dict(cells[run.cell]), run.repeat, record.repeats)
    return found


def _line(summaries: list[Any], index: int, grids: dict[str, GridMembership]) -> RunLine:
    run = summaries[index]
    member = grids.get(_key(run.path))
    if member is not None:
        what = settings_label(member.settings)
        if member.repeats > 1:
            what += f" · repeat {member.repeat + 1}"
        return RunLine(what, "grid", member.grid_dir)
    kind, source = ("lesson", run.lesson) if getattr(run, "lesson", None) else ("", "")
    if run.config is None:
        return RunLine(_model_on_data(run), kind, source)
    neighbours = [summaries[i] for i in (index - 1, index + 1) if 0 <= i < len(summaries)]
    configs = [run.config, *(n.config for n in neighbours if n.config is not None)]
    label = label_run(config_differences(configs), 0) if len(configs) > 1 else ""
    return RunLine(label or _model_on_data(run), kind, source)


def _model_on_data(run: Any) -> str:
    data = format_value("data.name", run.dataset) if run.dataset else "?"
    return f"{run.arch or '?'} on {data}"


def _key(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))
