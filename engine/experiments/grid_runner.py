"""Running a grid (`run_grid`): its folder opened (new, or the same grid resumed), then its missing runs
trained one after another as ordinary runs, with grid.json rewritten after each and the Keras
session cleared between them. The spec, rows and events are in engine.experiments.grid.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import LayerLabError
from engine.core.events import Observer
from engine.core.files import printable_path
from engine.datasets import load_dataset
from engine.experiments.grid import (
    GridFinished,
    GridResult,
    GridRow,
    GridRowUpdated,
    GridRunStarted,
    GridSpec,
    cell_config,
    check_spec,
    default_grids_root,
    ensure_same_grid,
    finished_runs,
    grid_cells,
    grid_rows,
    spec_of_record,
    spec_to_record,
)
from engine.experiments.grid_files import GRID_FILE, GridRecord, RunRecord, read_grid_record, write_grid_record
from engine.runs.folders import new_run_dir
from engine.runtime.collection import release_keras_state


def run_grid(
    spec: GridSpec,
    observer: Observer,
    cancel: CancelToken,
    *,
    grid_dir: Path | None = None,
    runs_root: Path | None = None,
    **train_kwargs: Any,
) -> GridResult:
    """Train the grid's missing runs one after another (see the module docstring); returns when
    all are done or `cancel` stopped one (that run is saved as any stopped run; the grid resumes
    with it). A failed run is recorded and the grid goes on. `train_kwargs` go to every `train`
    call (not `dataset` or `run_dir`: each run loads its data for its seed, in a new folder).
    Raises `ConfigError` before training anything for a spec that cannot run, or a `grid_dir`
    that holds another grid."""
    check_spec(spec)
    grid_dir, record = open_grid(spec, grid_dir, runs_root)
    return GridRunner(spec, grid_dir, record, observer, cancel, runs_root, train_kwargs).run()


def open_grid(spec: GridSpec, grid_dir: Path | None, runs_root: Path | None) -> tuple[Path, GridRecord]:
    """The grid folder and its record: a new one, or the existing one of the same grid (resume)."""

    if grid_dir is None:
        grid_dir = new_run_dir(spec.base, default_grids_root(runs_root))
    grid_dir = Path(grid_dir).expanduser()
    if (grid_dir / GRID_FILE).exists():
        record = read_grid_record(grid_dir)
        ensure_same_grid(spec_of_record(record, printable_path(grid_dir / GRID_FILE)), spec, grid_dir)
        return grid_dir, record
    grid_dir.mkdir(parents=True, exist_ok=True)
    record = spec_to_record(spec)
    write_grid_record(grid_dir, record)
    return grid_dir, record


class GridRunner:
    """One call of `run_grid`: the runs it trains, the rows it publishes."""

    def __init__(
        self,
        spec: GridSpec,
        grid_dir: Path,
        record: GridRecord,
        observer: Observer,
        cancel: CancelToken,
        runs_root: Path | None,
        train_kwargs: dict[str, Any],
    ) -> None:
        self.spec, self.grid_dir, self.record = spec, grid_dir, record
        self.observer, self.cancel = observer, cancel
        self.runs_root, self.train_kwargs = runs_root, train_kwargs
        self.cells = grid_cells(spec)
        self.datasets = _LastDataset()
        self.finished = finished_runs(record, grid_dir)
        self.rows: list[GridRow] = []
        self.failed = 0

    def run(self) -> GridResult:
        _quiet_retracing_warnings()
        self._publish_rows()
        cancelled = False
        for index, cell, repeat in self._order():
            if self.cancel.cancelled:
                cancelled = True
                break
            if (cell, repeat) in self.finished:
                continue
            if self._run_one(index, cell, repeat):
                cancelled = True
                break
        self.datasets.clear()
        self.observer(GridFinished(str(self.grid_dir), list(self.rows), cancelled))
        return GridResult(self.grid_dir, self.spec, list(self.rows), cancelled, self.failed)

    def _order(self) -> Iterator[tuple[int, int, int]]:
        """(index, cell, repeat): repeat by repeat, every cell in each."""
        for repeat in range(self.spec.repeats):
            for cell in range(len(self.cells)):
                yield repeat * len(self.cells) + cell, cell, repeat

    def _run_one(self, index: int, cell: int, repeat: int) -> bool:
        """Train one run and record it; True when it was stopped."""
        # TensorFlow: imported here, so importing this module stays cheap
        from engine.training.trainer import train

        settings = self.cells[cell]
        config = cell_config(self.spec, settings, repeat)
        self.observer(GridRunStarted(index, len(self.cells) * self.spec.repeats, cell, repeat, dict(settings)))
        result = train(
            config,
            self.observer,
            self.cancel,
            dataset=self.datasets.get(config),
            runs_root=self.runs_root,
            **self.train_kwargs,
        )
        status = "cancelled" if result.cancelled else "failed" if result.failed else "done"
        self.failed += status == "failed"
        run_dir = str(result.run_dir) if result.run_dir is not None else None
        self.record = self.record.with_run(
            RunRecord(cell=cell, repeat=repeat, run_dir=run_dir, status=status, reason=result.failed)
        )
        write_grid_record(self.grid_dir, self.record)
        if status == "done" and run_dir is not None:
            self.finished[(cell, repeat)] = (run_dir, result.metrics)
        _release(result)
        self._publish_rows()
        return status == "cancelled"

    def _publish_rows(self) -> None:
        """Recompute the rows; emit the ones that changed (a new run, or a moved best row)."""
        rows = grid_rows(self.spec, self.finished)
        for i, row in enumerate(rows):
            if row.run_dirs and (i >= len(self.rows) or row != self.rows[i]):
                self.observer(GridRowUpdated(row))
        self.rows = rows


class _LastDataset:
    """The last loaded dataset, reused while the data options and seed stay the same (every cell
    of a repeat, unless the data is a factor): loading is not repeated, and only one is held."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._dataset: Any = None

    def get(self, config: ExperimentConfig) -> Any:
        """The dataset, or None when it cannot load (then `train` reports why, as a failed run)."""

        key = config.data.model_dump_json() + f"/{config.training.seed}"
        if key != self._key:
            self.clear()
            try:
                self._dataset = load_dataset(config.data, seed=config.training.seed)
            except LayerLabError:
                return None
            self._key = key
        return self._dataset

    def clear(self) -> None:
        self._key, self._dataset = None, None


class _NotRetracing(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls to <function> triggered tf.function
    retracing" warning: a grid makes a new model, hence new functions, per run by design, and
    TensorFlow counts them by their code, as if one function kept retracing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _quiet_retracing_warnings() -> None:
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NotRetracing) for f in logger.filters):
        logger.addFilter(_NotRetracing())


def _release(result: Any) -> None:
    """Let go of a finished run's model and Keras's global state, so runs do not pile up."""

    result.model = None
    result.dataset = None
    release_keras_state()
