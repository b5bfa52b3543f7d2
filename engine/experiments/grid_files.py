"""`grid.json`: a grid's spec and which run folder belongs to which cell and repeat.

A grid is a folder, like a run: `grid.json` holds the base config, the factors, the number of
repeats and a log of the runs started for it (`done`, `cancelled` or `failed`, each naming its
ordinary run folder). It is rewritten atomically after every run, so a stopped or killed grid
always knows which runs it has, and resumes with the rest. Read back, it is validated like every
run file: anything that does not fit is a `RunError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError, RunError, describe_validation_error, json_kind
from engine.core.files import atomic_write_json, printable_path
from engine.runs.files import read_json

GRID_FILE = "grid.json"
FORMAT = "layerlab-grid"
RunStatus = Literal["done", "cancelled", "failed"]


class _GridModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FactorRecord(_GridModel):
    key: str
    values: list[Any] = Field(min_length=1)


class RunRecord(_GridModel):
    """One run started for the grid, and how it ended."""

    cell: int = Field(ge=0)
    repeat: int = Field(ge=0)
    run_dir: str | None  # None: it failed before it had a folder (e.g. its data would not load)
    status: RunStatus
    reason: str | None = None  # why it failed


class GridRecord(_GridModel):
    format: Literal["layerlab-grid"] = FORMAT
    version: int = 1
    base: dict[str, Any]
    factors: list[FactorRecord] = []
    repeats: int = Field(1, ge=1)
    runs: list[RunRecord] = []

    def with_run(self, run: RunRecord) -> GridRecord:
        return self.model_copy(update={"runs": [*self.runs, run]})


def grid_file(grid_dir: Path) -> Path:
    """Where a grid folder keeps its record (`grid.json`)."""
    return Path(grid_dir) / GRID_FILE


def read_grid_record(grid_dir: Path) -> GridRecord:
    """The validated `grid.json` of a grid folder (`RunError` naming the file otherwise)."""
    path = grid_file(grid_dir)
    if not os.path.lexists(path):
        raise RunError(f"{printable_path(grid_dir)} is not a LayerLab grid: {GRID_FILE} is missing")
    data = read_json(path)
    if not isinstance(data, dict):
        raise RunError(f"{printable_path(path)} must hold a JSON object, not {json_kind(data)}")
    try:
        record = GridRecord.model_validate(data)
    except ValidationError as err:
        raise RunError(f"{printable_path(path)}: {describe_validation_error(err)}") from None
    try:
        ExperimentConfig.from_dict(record.base)
    except ConfigError as err:
        raise RunError(f"{printable_path(path)}: base: {err}") from None
    return record


def write_grid_record(grid_dir: Path, record: GridRecord) -> None:

    atomic_write_json(grid_file(grid_dir), record.model_dump(mode="json"))


def run_path(grid_dir: Path, run_dir: str) -> Path:
    """A run folder named in grid.json (absolute, or relative to the grid folder)."""
    path = Path(run_dir).expanduser()
    return path if path.is_absolute() else Path(grid_dir) / path
