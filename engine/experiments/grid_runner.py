"""Running a grid (`run_grid`): its folder opened (new, or the same grid resumed), then its missing runs
handed to an executor (engine.experiments.executors: this process by default, or Ray), with grid.json
rewritten as each run ends and the rows published. The spec, rows and events are in
engine.experiments.grid.

Whatever the executor, the observer sees the runs one after another, each as `GridRunStarted`
followed by the run's own events, exactly as in this process: when several runs train at once, one
is "in view" and its events pass as they come; the others' are held (all but the per-batch and
preparation progress, which only matter live) and follow in full when the run in view has ended.
`GridInFlight` says meanwhile which runs train, and a row updates (`GridRowUpdated`) as soon as a
run comes home, in view or not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.cancel import CancelToken
from engine.core.events import BatchEnd, Event, Failed, Finished, Observer, Preparing
from engine.core.files import printable_path
from engine.experiments.executors import Executor, InProcess, RunJob, RunOutcome, Worker
from engine.experiments.grid import (
    GridFinished,
    GridInFlight,
    GridResult,
    GridRow,
    GridRowUpdated,
    GridRunRetried,
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


def run_grid(
    spec: GridSpec,
    observer: Observer,
    cancel: CancelToken,
    *,
    grid_dir: Path | None = None,
    runs_root: Path | None = None,
    executor: Executor | None = None,
    **train_kwargs: Any,
) -> GridResult:
    """Train the grid's missing runs on `executor` (default: one after another in this process;
    see the module docstring); returns when all are done or `cancel` stopped them (a run stopped
    mid-way is saved as any stopped run; the grid resumes with it, on any executor). A failed run
    is recorded and the grid goes on. `train_kwargs` go to every `train` call (not `dataset` or
    `run_dir`: each run loads its data for its seed, in a new folder; on Ray only
    `memory_budget` travels, each worker keeping its own feature cache).
    Raises `ConfigError` before training anything for a spec that cannot run, or a `grid_dir`
    that holds another grid."""
    check_spec(spec)
    grid_dir, record = open_grid(spec, grid_dir, runs_root)
    runner = GridRunner(spec, grid_dir, record, observer)
    _quiet_retracing_warnings()
    runner.publish_rows()
    try:
        (executor or InProcess()).run(
            runner.pending(), runner, cancel, runs_root=runs_root, train_kwargs=dict(train_kwargs)
        )
    finally:
        runner.flush_view()
    cancelled = cancel.cancelled and len(runner.finished) < runner.total
    observer(GridFinished(str(grid_dir), list(runner.rows), cancelled))
    return GridResult(grid_dir, spec, list(runner.rows), cancelled, runner.failed)


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


@dataclass
class _Flight:
    """A run that has begun: its worker, and its events held while another run is in view."""

    job: RunJob
    worker: Worker
    held: list[Event] = field(default_factory=list)
    outcome: RunOutcome | None = None
    told_end: bool = False  # its own `Finished` or `Failed` came (a lost worker sends neither)


class GridRunner:
    """One call of `run_grid`: the `RunReport` its executor talks to, grid.json, the rows, the view."""

    def __init__(self, spec: GridSpec, grid_dir: Path, record: GridRecord, observer: Observer) -> None:
        self.spec, self.grid_dir, self.record = spec, grid_dir, record
        self.observer = observer
        self.cells = grid_cells(spec)
        self.total = len(self.cells) * spec.repeats
        self.finished = finished_runs(record, grid_dir)
        self.rows: list[GridRow] = []
        self.failed = 0
        self.flights: dict[int, _Flight] = {}  # begun, not yet shown to the end
        self.in_view: int | None = None

    def pending(self) -> list[RunJob]:
        """The runs the grid lacks, repeat by repeat, every cell in each."""
        jobs = []
        for repeat in range(self.spec.repeats):
            for cell, settings in enumerate(self.cells):
                if (cell, repeat) not in self.finished:
                    index = repeat * len(self.cells) + cell
                    config = cell_config(self.spec, settings, repeat)
                    jobs.append(RunJob(index, self.total, cell, repeat, dict(settings), config))
        return jobs

    # --- the RunReport -------------------------------------------------------------------------------
    def begun(self, job: RunJob, worker: Worker) -> None:
        flight = self.flights.get(job.index)
        if flight is not None and flight.outcome is None:  # a retry: the first worker was lost
            self.observer(GridRunRetried(job.index, job.total, dict(job.settings), worker.attempt))
            flight.worker, flight.held, flight.told_end = worker, [], False
            if self.in_view == job.index:
                self._show_start(flight)
        else:
            self.flights[job.index] = _Flight(job, worker)
            if self.in_view is None:
                self.in_view = job.index
                self._show_start(self.flights[job.index])
        self._announce_flights()

    def event(self, job: RunJob, event: Event) -> None:
        flight = self.flights.get(job.index)
        if flight is None:
            return
        flight.told_end = flight.told_end or isinstance(event, Finished | Failed)
        if self.in_view == job.index:
            self.observer(event)
        elif not isinstance(event, BatchEnd | Preparing):
            flight.held.append(event)

    def ended(self, job: RunJob, outcome: RunOutcome) -> None:
        self._record(job, outcome)
        flight = self.flights.setdefault(job.index, _Flight(job, Worker()))
        flight.outcome = outcome
        if outcome.status == "failed" and not flight.told_end:
            self.event(job, Failed(outcome.reason or "the run failed", "error", str(outcome.run_dir or "")))
        self.publish_rows()
        self._announce_flights()
        if self.in_view == job.index:
            del self.flights[job.index]
            self.in_view = None
        if self.in_view is None:
            self._next_in_view()

    # --- the view: one run after another ---------------------------------------------------------------
    def _show_start(self, flight: _Flight) -> None:
        job, worker = flight.job, flight.worker
        self.observer(
            GridRunStarted(
                job.index, job.total, job.cell, job.repeat, dict(job.settings), worker.host, worker.pid, worker.attempt
            )
        )

    def _next_in_view(self) -> None:
        """Bring the next begun run into view (the lowest index), replaying what it held; runs that
        ended meanwhile are shown whole, one after another."""
        while self.flights:
            index = min(self.flights)
            flight = self.flights[index]
            self._show_start(flight)
            for event in flight.held:
                self.observer(event)
            flight.held = []
            if flight.outcome is None:
                self.in_view = index
                return
            del self.flights[index]

    def flush_view(self) -> None:
        """Show what is still held (runs whose end the executor did not report: it was stopped)."""
        if self.in_view is not None:
            self.flights.pop(self.in_view, None)
            self.in_view = None
        self._next_in_view()
        self.in_view = None
        self.flights.clear()

    def _announce_flights(self) -> None:
        running = sorted(i for i, f in self.flights.items() if f.outcome is None)
        cells = tuple(self.flights[i].job.cell for i in running)
        self.observer(GridInFlight(tuple(running), cells, len(self.finished), self.total))

    # --- records and rows ------------------------------------------------------------------------------
    def _record(self, job: RunJob, outcome: RunOutcome) -> None:
        run_dir = str(outcome.run_dir) if outcome.run_dir is not None else None
        self.failed += outcome.status == "failed"
        self.record = self.record.with_run(
            RunRecord(cell=job.cell, repeat=job.repeat, run_dir=run_dir, status=outcome.status, reason=outcome.reason)
        )
        write_grid_record(self.grid_dir, self.record)
        if outcome.status == "done" and run_dir is not None:
            self.finished[(job.cell, job.repeat)] = (run_dir, outcome.metrics)

    def publish_rows(self) -> None:
        """Recompute the rows; emit the ones that changed (a new run, or a moved best row)."""
        rows = grid_rows(self.spec, self.finished)
        for i, row in enumerate(rows):
            if row.run_dirs and (i >= len(self.rows) or row != self.rows[i]):
                self.observer(GridRowUpdated(row))
        self.rows = rows


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
