"""The runs list: every training saved on disk; open one to see it and classify with its model,
or copy its settings to repeat or vary the experiment."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from engine import OpenedRun, dataset_key
from gui.controllers.current import CurrentModelController, run_title
from gui.controllers.curves import CurvesController
from gui.jobs import runs as runs_jobs
from gui.session import RunsState, Session, finite
from gui.tasks import TaskRunner
from gui.text import short_name


class RunsView(Protocol):
    def show_listing(self) -> None: ...
    def show_runs(self, summaries: tuple[Any, ...], lines: tuple[Any, ...], problem: str) -> None: ...


class ComparisonView(Protocol):
    def show_comparison(self, comparison: Any, histories: list[Any]) -> None: ...
    def hide_comparison(self) -> None: ...


class RunsController:
    opened = Signal(str)  # the path of a run opened (with or without a usable model)
    compared = Signal(object)  # gui.jobs.ComparedRuns, once shown

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        view: RunsView,
        curves: CurvesController,
        comparison: ComparisonView,
        root: Path | None = None,
        current: CurrentModelController | None = None,
    ) -> None:
        self.session = session
        self.view = view
        self.curves = curves
        self.comparison = comparison
        self.current = current or CurrentModelController(session, runner)
        self.root = root
        self._list = runner.slot("list-runs", "io")
        self._open = runner.slot("open-run", "engine")
        self._settings = runner.slot("run-settings", "io")
        self._compare = runner.slot("compare-runs", "io")
        self._shown: Any = None  # the summaries the view shows
        session.events.runs.connect(self._render)

    @property
    def opening(self) -> bool:
        """Whether a run is being opened (until it is shown, or refused)."""
        return self._open.busy

    # --- listing --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.session.update("runs", status="listing")
        self._list.start(runs_jobs.list_runs, self.root, on_result=self._listed, on_error=self._listing_failed)

    def _listed(self, listing: runs_jobs.Listing) -> None:
        paths = {str(s.path) for s in listing.summaries}
        selected = tuple(p for p in self.session.runs.selected if p in paths)
        self.session.update(
            "runs", status="ready", summaries=listing.summaries, lines=listing.lines, selected=selected, problem=""
        )

    def _listing_failed(self, err: Any) -> None:
        self.session.update("runs", status="failed", summaries=(), lines=(), problem=f"cannot list runs: {err}")

    def select(self, paths: list[str]) -> None:
        """The runs selected in the Runs tab (what Export offers first)."""
        self.session.update("runs", selected=tuple(paths))

    def _render(self, state: RunsState) -> None:
        if state.status == "listing" and not state.summaries:
            self.view.show_listing()
        elif state.status != "listing" and not self._showing(state):
            self._shown = (state.summaries, state.problem)
            self.view.show_runs(state.summaries, state.lines, state.problem)

    def _showing(self, state: RunsState) -> bool:
        """Whether the view shows this listing already (a new selection alone redraws nothing)."""
        return self._shown is not None and self._shown[0] is state.summaries and self._shown[1] == state.problem

    # --- opening --------------------------------------------------------------------------------------
    def open_run(self, path: str) -> None:
        """Show a saved run (curves, results) and classify with its model. Nothing changes until it
        has opened: a run that cannot be opened leaves the window as it was."""
        if self.session.training.running:
            self.session.say("Stop the training before opening another run.", "warning", topic="busy")
            return
        self.session.status(f"Opening {Path(path).name}…")
        self._open.start(
            runs_jobs.open_run, path, on_result=self._opened, on_error=lambda err: self._open_failed(path, err)
        )

    def _opened(self, opened: OpenedRun) -> None:
        run = opened.run
        config, metrics, name = run.config, run.metrics, run.path.name
        acc = metrics.val_accuracy if metrics is not None else None
        title = f"Run <b>{name}</b> · {config.arch.name} on {short_name(config.data.name)}" + (
            f" · val accuracy {acc:.1%}" if finite(acc) else ""
        )
        self.close_comparison()
        classes = len(run.class_names) if config.task == "classification" else 0
        self.curves.begin(title, 0, classes or None, history=run.history)
        same_data = self.session.data.key == dataset_key(config.data, config.training.seed)
        if metrics is None:
            note = "This run has no metrics (it did not finish)."
        else:
            note = "" if same_data else "Load this run's dataset (same settings) to see the images."
        self.current.show_results(
            metrics,
            run.class_names,
            note,
            self.session.data.dataset if same_data else None,
            "run",
            str(run.path),
            run_title(str(run.path), config.arch.name, config.data.name),
        )
        self.session.update("runs", opened=run)
        self.session.clear_message("run")
        if opened.classifier is not None:
            self.current.use(
                opened.classifier,
                f"run {name}",
                f"Model: run {name} — {config.arch.name} on {short_name(config.data.name)}",
                str(run.path),
            )
        else:
            self.current.failed(f"Run {name} cannot classify: {opened.problem}")
            self.session.say(f"Run opened without a model: {opened.problem}", "warning", topic="run")
        self.session.status(f"Opened run {name}", 5000)
        self.opened.emit(str(run.path))

    def _open_failed(self, path: str, err: Any) -> None:
        self.session.status("")
        self.session.say(f"Cannot open run {Path(path).name}: {err}", "error", getattr(err, "details", ""), topic="run")

    # --- side by side -----------------------------------------------------------------------------------
    def compare(self, paths: list[str]) -> None:
        """Overlay the curves of several runs and tabulate what differs between them."""
        if len(paths) < 2:
            self.session.say(
                "Select two runs or more to compare them (Ctrl+click or Shift+click in the list).", "info", topic="run"
            )
            return
        self.session.status(f"Comparing {len(paths)} runs…")
        self._compare.start(
            runs_jobs.compare_runs,
            list(paths),
            on_result=self._compared,
            on_error=lambda err: self.session.say(f"Cannot compare these runs: {err}", "error", topic="run"),
        )

    def _compared(self, result: runs_jobs.ComparedRuns) -> None:
        self.comparison.show_comparison(result.comparison, list(result.histories))
        self.session.update("runs", compared=result)
        self.session.clear_message("run")
        self.session.status(f"Comparing {len(result.comparison.runs)} runs", 5000)
        self.compared.emit(result)

    def close_comparison(self) -> None:
        """Back to the curves (of the training, or the opened run: a comparison never touched them)."""
        if self.session.runs.compared is None:
            return
        self.session.update("runs", compared=None)
        self.comparison.hide_comparison()

    # --- settings -------------------------------------------------------------------------------------
    def use_settings(self, path: str) -> None:
        """Make a past run's config the current one (to repeat or vary an experiment)."""
        if self.session.training.running:
            self.session.say("Stop the training before loading other settings.", "warning", topic="busy")
            return

        def loaded(run: Any) -> None:
            if self.session.training.running:
                return
            self.session.config.replace(run.config)
            self.session.say(f"Settings of run {run.path.name} loaded: Train repeats it.", "info", topic="run")

        self._settings.start(
            runs_jobs.load_run,
            path,
            on_result=loaded,
            on_error=lambda err: self.session.say(f"Cannot open run {Path(path).name}: {err}", "error", topic="run"),
        )
