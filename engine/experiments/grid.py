"""Ablation grids: every combination of a few settings, each trained `repeats` times.

A grid is a queue of ordinary runs: `run_grid` trains each cell (one combination of the factors'
values) once per repeat with seed = base seed + repeat, through the same `engine.training.train`
as a single training, so every run is a normal run folder. The order is repeat by repeat (all
cells with the first seed, then all with the next), so the table has a figure for every row
early. Where the runs train is the executor's business (engine.experiments.executors): one after
another in this process by default (the Keras session cleared between runs: a grid of many runs
holds no more memory than a grid of two, docs/benchmarks.md), or many at once on Ray.

The grid's folder holds `grid.json` (engine.experiments.grid_files), rewritten after each run: a
stopped grid keeps its finished runs, and `run_grid` with the same `grid_dir` resumes with the
runs it lacks (a stopped run is trained again from the start).

Each row aggregates a cell's finished runs: mean ± standard deviation of validation and test
accuracy over the repeats, seconds per run, and whether it is significantly worse than the best
row (Welch's t-test, p < 0.05, engine.experiments.stats). The best row is the one with the highest
mean test accuracy, or validation accuracy when the grid has no test figures (no test split, or
not in every row).
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError, LayerLabError, RunError
from engine.core.files import printable_path
from engine.core.records import RunMetrics
from engine.experiments import stats
from engine.experiments.compare import config_differences
from engine.experiments.grid_files import GRID_FILE, FactorRecord, GridRecord, RunRecord, read_grid_record, run_path
from engine.experiments.settings import apply_settings, coerce_value, describe
from engine.runs.folders import default_runs_root, read_metrics

MAX_RUNS = 10_000


# --- the spec ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Factor:
    """One setting and the values it takes (coerced to the setting's type)."""

    key: str  # a key of compare's differences, e.g. "arch.dropout"
    values: tuple[Any, ...]


def factor(key: str, values: Any) -> Factor:
    """A validated factor from typed or text values (`ConfigError`, one line, otherwise)."""
    values = tuple(values)
    if not values:
        raise ConfigError(f"{key}: give at least one value")
    coerced = tuple(coerce_value(key, value) for value in values)
    seen = [json.dumps(value) for value in coerced]
    if len(set(seen)) != len(seen):
        raise ConfigError(f"{key}: a value is listed twice ({', '.join(seen)})")
    return Factor(key, coerced)


def parse_vary(text: str) -> Factor:
    """`"arch.dropout=0,0.5"` as a `Factor`; `ConfigError` (one line) for a malformed text, an
    unknown key or a value the setting refuses."""
    key, sep, listed = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--vary {text!r}: write KEY=VALUE,VALUE..., e.g. arch.dropout=0,0.5")
    values = [value.strip() for value in listed.split(",")]
    if not listed.strip() or any(not value for value in values):
        raise ConfigError(f"--vary {text!r}: a value is empty (write KEY=VALUE,VALUE...)")
    return factor(key, values)


@dataclass(frozen=True)
class GridSpec:
    base: ExperimentConfig
    factors: tuple[Factor, ...]
    repeats: int = 1


def check_spec(spec: GridSpec) -> None:
    """`ConfigError` for a spec that cannot run: a factor named twice, no repeats, too many runs,
    or a combination the config refuses."""
    keys = [f.key for f in spec.factors]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise ConfigError(f"a grid varies each setting once; {', '.join(twice)} is given twice")
    if spec.repeats < 1:
        raise ConfigError(f"repeats must be at least 1, not {spec.repeats}")
    total = math.prod(len(f.values) for f in spec.factors) * spec.repeats
    if total > MAX_RUNS:
        raise ConfigError(f"this grid would train {total:,} runs; LayerLab runs at most {MAX_RUNS:,} in one grid")
    for settings in grid_cells(spec):
        cell_config(spec, settings)


def grid_cells(spec: GridSpec) -> list[dict[str, Any]]:
    """The settings of each combination, the first factor varying slowest."""
    keys = [f.key for f in spec.factors]
    return [dict(zip(keys, values)) for values in itertools.product(*(f.values for f in spec.factors))]


def cell_config(spec: GridSpec, settings: dict[str, Any], repeat: int = 0) -> ExperimentConfig:
    """The config of one cell's run: the base with the settings applied, seed + repeat."""
    try:
        config = apply_settings(spec.base, settings)
        return config.updated(**{"training.seed": config.training.seed + repeat})
    except ConfigError as err:
        raise ConfigError(f"grid cell {settings_label(settings)}: {err}") from None


def settings_label(settings: dict[str, Any]) -> str:
    """ "dropout 0 · bn on": a cell in a few words ("base" for a grid without factors)."""
    return " · ".join(describe(key, value) for key, value in settings.items()) or "base"


# --- rows ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridRow:
    settings: dict[str, Any]
    run_dirs: list[str]
    val_accuracy_mean: float | None
    val_accuracy_std: float | None
    test_accuracy_mean: float | None
    test_accuracy_std: float | None
    seconds_mean: float | None
    significantly_worse_than_best: bool | None


@dataclass(frozen=True)
class GridResult:
    grid_dir: Path
    spec: GridSpec
    rows: list[GridRow]
    cancelled: bool
    failed_runs: int  # runs of this call that failed (the grid went on without them)


# Events the grid emits through the same observer as its runs' own events.
@dataclass(frozen=True)
class GridRunStarted:
    """One ordinary run of the grid is about to start (its `Started` follows)."""

    index: int  # 0-based among all cells × repeats, in the grid's order
    total: int
    cell: int
    repeat: int
    settings: dict[str, Any]
    host: str = ""  # the machine of the Ray worker training it ("": this process)
    pid: int | None = None  # ... and its process
    attempt: int = 1  # 2: its first worker was lost (killed, out of memory) and it started again


@dataclass(frozen=True)
class GridRunRetried:
    """A run's worker died mid-run (killed, out of memory): the run starts again from the start
    on another worker, once; a second loss makes it a failed run and the grid goes on."""

    index: int
    total: int
    settings: dict[str, Any]
    attempt: int  # the attempt starting now (2)


@dataclass(frozen=True)
class GridInFlight:
    """Which runs are training right now (several at once on Ray; emitted when the set changes).

    The runs' own events reach the observer one run after another, each after its
    `GridRunStarted`, as in this process: while the run in view trains, the others' events are
    held and follow, in full, when it ends. This event is what shows the others meanwhile."""

    runs: tuple[int, ...]  # their indices
    cells: tuple[int, ...]  # the cell of each
    done: int  # runs of the grid finished so far (this call and before)
    total: int


@dataclass(frozen=True)
class GridRowUpdated:
    """A row changed: its cell gained a finished run (or the best row moved, changing its mark)."""

    row: GridRow


@dataclass(frozen=True)
class GridFinished:
    grid_dir: str
    rows: list[GridRow]
    cancelled: bool


def best_row(rows: list[GridRow]) -> int | None:
    """The row the others are marked against: the highest mean test accuracy, or validation
    accuracy when not every row with runs has test figures (None when no row has runs)."""
    with_runs = [row for row in rows if row.run_dirs]
    use_test = bool(with_runs) and all(row.test_accuracy_mean is not None for row in with_runs)
    means = [row.test_accuracy_mean if use_test else row.val_accuracy_mean for row in rows]
    ranked = [(mean, -i) for i, mean in enumerate(means) if mean is not None]
    return -max(ranked)[1] if ranked else None


Finished = dict[tuple[int, int], tuple[str, RunMetrics]]  # (cell, repeat) -> (run folder, its metrics)


def grid_rows(spec: GridSpec, finished: Finished) -> list[GridRow]:
    """One row per cell from its finished runs."""
    cells = grid_cells(spec)
    per_cell: list[list[tuple[str, RunMetrics]]] = [[] for _ in cells]
    for (cell, _repeat), (run_dir, metrics) in sorted(finished.items()):
        if cell < len(cells):
            per_cell[cell].append((run_dir, metrics))
    val = [[m.val_accuracy for _, m in runs if m.val_accuracy is not None] for runs in per_cell]
    test = [[m.test_accuracy for _, m in runs if m.test_accuracy is not None] for runs in per_cell]
    with_runs = [i for i, runs in enumerate(per_cell) if runs]
    judged = test if with_runs and all(test[i] for i in with_runs) else val
    marks = stats.worse_than_best(judged)
    rows = []
    for settings, runs, v, t, mark in zip(cells, per_cell, val, test, marks):
        seconds = [m.seconds for _, m in runs if m.seconds is not None]
        rows.append(
            GridRow(
                settings,
                [run_dir for run_dir, _ in runs],
                *stats.mean_std(v),
                *stats.mean_std(t),
                stats.mean_std(seconds)[0],
                mark,
            )
        )
    return rows


def finished_runs(record: GridRecord, grid_dir: Path) -> Finished:
    """The finished runs `record` lists whose folder still reads back (the others are left out
    of the rows, and a resume trains them again)."""

    finished: Finished = {}
    for run in record.runs:
        if run.status != "done" or run.run_dir is None or (run.cell, run.repeat) in finished:
            continue
        path = run_path(grid_dir, run.run_dir)
        try:
            metrics = read_metrics(path)
        except LayerLabError:
            continue
        if metrics is not None and metrics.failed is None and not metrics.cancelled:
            finished[(run.cell, run.repeat)] = (str(path), metrics)
    return finished


# --- reading and writing -------------------------------------------------------------------------
def spec_to_record(spec: GridSpec, runs: list[RunRecord] | None = None) -> GridRecord:
    return GridRecord(
        base=spec.base.to_dict(),
        repeats=spec.repeats,
        runs=runs or [],
        factors=[FactorRecord(key=f.key, values=list(f.values)) for f in spec.factors],
    )


def spec_of_record(record: GridRecord, where: str) -> GridSpec:
    """The spec a validated record describes (`RunError` naming `where` for a bad factor)."""

    try:
        factors = tuple(factor(f.key, f.values) for f in record.factors)
        spec = GridSpec(ExperimentConfig.from_dict(record.base), factors, record.repeats)
        check_spec(spec)
    except ConfigError as err:
        raise RunError(f"{where}: {err}") from None
    cells = len(grid_cells(spec))
    for run in record.runs:
        if run.cell >= cells or run.repeat >= spec.repeats:
            raise RunError(
                f"{where}: run {run.run_dir} is listed for cell {run.cell}, repeat {run.repeat}, "
                f"but the grid has {cells} cells and {spec.repeats} repeats"
            )
    return spec


def load_grid(grid_dir: Path) -> tuple[GridSpec, list[GridRow]]:
    """A grid folder read back: its spec and its rows (typed, validated: `RunError` naming the file)."""
    grid_dir = Path(grid_dir).expanduser()
    record = read_grid_record(grid_dir)
    spec = spec_of_record(record, printable_path(grid_dir / GRID_FILE))
    return spec, grid_rows(spec, finished_runs(record, grid_dir))


def default_grids_root(runs_root: Path | None = None) -> Path:
    """Grids live beside the runs: `<runs root>/../grids` (`$LAYERLAB_HOME/grids` by default)."""

    return Path(runs_root if runs_root is not None else default_runs_root()).parent / "grids"


def ensure_same_grid(stored: GridSpec, spec: GridSpec, grid_dir: Path) -> None:
    """`ConfigError` unless `spec` is the grid stored in `grid_dir` (resuming another grid's
    folder would mix two experiments)."""

    if stored == spec:
        return
    if stored.factors != spec.factors:
        what = "factors"
    elif stored.repeats != spec.repeats:
        what = f"repeats ({stored.repeats}, not {spec.repeats})"
    else:
        what = "settings: " + (", ".join(config_differences([stored.base, spec.base])) or "per-layer choices")
    raise ConfigError(
        f"{printable_path(grid_dir)} holds another grid (different {what}); "
        "resume it with the same options, or choose a new grid folder"
    )
