"""Ablation grids in the window: the plan from the Grid tab becomes an engine grid that runs on
the training lane, in this process one ordinary run after another, or several at once on Ray
(where, kept in the preferences: this machine, or a cluster's address); rows fill in as runs finish.

The grid's own events (`GridRunStarted`, `GridInFlight`, `GridRunRetried`, `GridRowUpdated`,
`GridFinished`) arrive through the training controller with the runs' events, which the engine
delivers one run after another whatever the executor, so the plots and the run bar follow the run
in view exactly as for a single training while the table marks every run training; Stop stops the
grid (the finished runs are kept, and the grid resumes where it stopped, on any executor).
"""

from __future__ import annotations

from typing import Any, Protocol

from psygnal import Signal

from engine import LayerLabError, settings_label
from gui.controllers.training import TrainingController, TrainingJob
from gui.jobs import training as training_jobs
from gui.session import GridState, Session


class GridView(Protocol):
    def show_grid(self, state: GridState) -> None: ...


class GridPlanView(Protocol):
    def set_resumable(self, resumable: bool) -> None: ...
    def bind_preferences(self, preferences: Any) -> None: ...


class GridController:
    finished = Signal(object)  # engine.experiments.grid.GridResult

    def __init__(self, session: Session, training: TrainingController, view: GridView, plan_view: GridPlanView) -> None:
        self.session = session
        self.training = training
        self.view = view
        self.plan_view = plan_view
        self._spec: Any = None
        self._executor: Any = None
        plan_view.bind_preferences(session.preferences)
        session.preferences.rejected.connect(self._refused)
        training.event.connect(self._on_event)
        session.events.grid.connect(self._render)

    # --- intent ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """Start the grid the Grid tab describes, on the current config."""
        try:
            self._spec = self._make_spec()
            self._executor = self._make_executor()
        except LayerLabError as err:
            self.session.say(f"Grid: {err}", "warning", topic="grid")
            return
        self._start(grid_dir="")

    def resume(self) -> None:
        """Go on with the stopped grid, wherever the Grid tab now says (any executor resumes it)."""
        if self._spec is None or not self.session.grid.grid_dir:
            self.session.say("There is no stopped grid to resume.", "info", topic="grid")
            return
        try:
            self._executor = self._make_executor()
        except LayerLabError as err:
            self.session.say(f"Grid: {err}", "warning", topic="grid")
            return
        self._start(self.session.grid.grid_dir)

    def close(self) -> None:
        if self.session.grid.status != "running":
            self.session.update("grid", status="idle")

    def _make_spec(self) -> Any:
        from engine import GridSpec, parse_vary

        plan = self.session.grid_plan.value
        if not plan.factors:
            raise LayerLabError("add a factor to vary first")
        factors = tuple(parse_vary(f"{factor.key}={factor.values}") for factor in plan.factors)
        return GridSpec(base=self.session.config.snapshot(), factors=factors, repeats=plan.repeats)

    def _make_executor(self) -> Any:
        from engine import grid_executor

        return grid_executor(*self.session.preferences.value.grid_where())

    def _start(self, grid_dir: str) -> None:
        from engine import grid_cells

        cells = tuple(dict(cell) for cell in grid_cells(self._spec))
        total = len(cells) * self._spec.repeats
        self.session.update(
            "grid",
            status="running",
            grid_dir=grid_dir,
            total=total,
            cells=cells,
            current=-1,
            settings={},
            running=(),
            where="" if self.session.preferences.value.grid_executor == "local" else self._executor.describe(),
            rows=() if not grid_dir else self.session.grid.rows,
        )
        self.training.start(
            TrainingJob(
                work=training_jobs.run_grid,
                extra=(self._spec, grid_dir or None, self._executor),
                on_result=self._done,
                description="Preparing the grid…",
                queue=True,
            )
        )

    def _refused(self, why: str) -> None:
        if "cluster_address" in why:
            self.session.say(f"Grid: {why}", "warning", topic="grid")

    # --- progress -------------------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "GridRunStarted":
            self.training.set_run_note(f"run {event.index + 1}/{event.total} ({settings_label(event.settings)}) · ")
            self.session.update("grid", current=event.index, total=event.total, settings=dict(event.settings))
        elif kind == "GridInFlight":
            cells = grid_cells_of(self._spec)
            running = tuple(dict(cells[cell]) for cell in event.cells if cell < len(cells))
            self.session.update("grid", running=running)
        elif kind == "GridRunRetried":
            self.session.say(
                f"Grid run {event.index + 1}: its worker was lost (killed, or out of memory); "
                f"starting it again (attempt {event.attempt}).",
                "warning",
                topic="grid",
            )
        elif kind == "GridRowUpdated":
            rows = [row for row in self.session.grid.rows if row.settings != event.row.settings]
            self.session.update("grid", rows=tuple(self._ordered(rows + [event.row])))
        elif kind == "GridFinished":
            self.session.update("grid", grid_dir=event.grid_dir, rows=tuple(event.rows))

    def _ordered(self, rows: list[Any]) -> list[Any]:
        from engine import grid_cells

        order = [cell for cell in grid_cells(self._spec)] if self._spec is not None else []
        return sorted(rows, key=lambda row: order.index(row.settings) if row.settings in order else len(order))

    def _done(self, result: Any) -> None:
        stopped = bool(getattr(result, "cancelled", False))
        rows = tuple(result.rows)
        self.session.update(
            "grid",
            status="stopped" if stopped else "finished",
            grid_dir=str(result.grid_dir),
            rows=rows,
            settings={},
            running=(),
        )
        self.training.end(
            "stopped" if stopped else "finished",
            "Grid stopped" if stopped else "Grid finished",
            None if stopped else 1.0,
        )
        self.session.say(
            self._summary(rows, stopped), "info" if stopped else "success", str(result.grid_dir), topic="grid"
        )
        self.finished.emit(result)

    @staticmethod
    def _summary(rows: tuple[Any, ...], stopped: bool) -> str:
        done = sum(len(row.run_dirs) for row in rows)
        scored = [row for row in rows if row.val_accuracy_mean is not None]
        if not scored:
            return f"Grid {'stopped' if stopped else 'finished'} after {done} runs."
        best = max(scored, key=lambda row: row.val_accuracy_mean)
        settings = settings_label(best.settings)
        worse = sum(bool(row.significantly_worse_than_best) for row in rows)
        what = "stopped (Resume goes on)" if stopped else "finished"
        return (
            f"Grid {what}: {done} runs. Best: {settings} (val accuracy {best.val_accuracy_mean:.1%}); "
            f"{worse} of {len(rows)} combinations significantly worse."
        )

    def _render(self, state: GridState) -> None:
        self.view.show_grid(state)
        self.plan_view.set_resumable(state.status == "stopped")


def grid_cells_of(spec: Any) -> list[dict[str, Any]]:
    from engine import grid_cells

    return grid_cells(spec) if spec is not None else []
