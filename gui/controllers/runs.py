"""The runs list: every training saved on disk; open one to see it and classify with its model,
or copy its settings to repeat or vary the experiment."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from gui import jobs
from gui.session import RunsState, Session, finite
from gui.tasks import TaskRunner
from gui.text import short_name


class RunsView(Protocol):
    def show_listing(self) -> None: ...
    def show_runs(self, summaries: tuple[Any, ...], problem: str) -> None: ...


class HistoryView(Protocol):
    def load_history(self, history: list[Any], title: str = "") -> None: ...


class RunsController:
    opened = Signal(str)          # the path of a run opened (with or without a usable model)

    def __init__(self, session: Session, runner: TaskRunner, view: RunsView, curves: HistoryView,
                 root: Path | None = None) -> None:
        self.session = session
        self.view = view
        self.curves = curves
        self.root = root
        self._list = runner.slot("list-runs", "io")
        self._open = runner.slot("open-run", "engine")
        self._settings = runner.slot("run-settings", "io")
        session.events.runs.connect(self._render)

    # --- listing --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        self.session.update("runs", status="listing")
        self._list.start(jobs.list_runs, self.root, on_result=self._listed, on_error=self._listing_failed)

    def _listed(self, summaries: list[Any]) -> None:
        self.session.update("runs", status="ready", summaries=tuple(summaries), problem="")

    def _listing_failed(self, err: Any) -> None:
        self.session.update("runs", status="failed", summaries=(), problem=f"cannot list runs: {err}")

    def _render(self, state: RunsState) -> None:
        if state.status == "listing" and not state.summaries:
            self.view.show_listing()
        elif state.status != "listing":
            self.view.show_runs(state.summaries, state.problem)

    # --- opening --------------------------------------------------------------------------------------
    def open_run(self, path: str) -> None:
        if self.session.training.running:
            self.session.say("Stop the training before opening another run.", "warning", topic="run")
            return
        name = Path(path).name
        self.session.status(f"Opening {name}…")
        self.session.update("classifier", classifier=None, status="loading", description=f"Loading the model of run {name}…")
        self._open.start(jobs.open_run, path, on_result=self._opened, on_error=lambda err: self._open_failed(path, err))

    def _opened(self, opened: jobs.OpenedRun) -> None:
        run = opened.run
        config, metrics, name = run.config, run.metrics, run.path.name
        acc = metrics.val_accuracy if metrics is not None else None
        title = (f"Run <b>{name}</b> · {config.arch.name} on {short_name(config.data.name)}"
                 + (f" · val accuracy {acc:.1%}" if finite(acc) else ""))
        self.curves.load_history(run.history, title)
        same_data = self.session.data.key == jobs.dataset_key(config.data, config.training.seed)
        if metrics is None:
            note = "This run has no metrics (it did not finish)."
        else:
            note = "" if same_data else "Load this run's dataset (same settings) to see the images."
        self.session.update("results", metrics=metrics, class_names=tuple(run.class_names), note=note,
                            dataset=self.session.data.dataset if same_data else None, origin="run")
        self.session.update("runs", opened=run)
        self.session.clear_message("run")
        if opened.classifier is not None:
            self.session.update("classifier", classifier=opened.classifier, status="ready",
                                description=f"Model: run {name} — {config.arch.name} on {short_name(config.data.name)}")
        else:
            self.session.update("classifier", classifier=None, status="failed",
                                description=f"Run {name} cannot classify: {opened.problem}")
            self.session.say(f"Run opened without a model: {opened.problem}", "warning", topic="run")
        self.session.status(f"Opened run {name}", 5000)
        self.opened.emit(str(run.path))

    def _open_failed(self, path: str, err: Any) -> None:
        self.session.status("")
        self.session.update("classifier", classifier=None, status="failed",
                            description="No model: the run could not be opened.")
        self.session.say(f"Cannot open run {Path(path).name}: {err}", "error", getattr(err, "details", ""), topic="run")

    # --- settings -------------------------------------------------------------------------------------
    def use_settings(self, path: str) -> None:
        """Make a past run's config the current one (to repeat or vary an experiment)."""
        if self.session.training.running:
            self.session.say("Stop the training before loading other settings.", "warning", topic="run")
            return

        def loaded(run: Any) -> None:
            if self.session.training.running:
                return
            self.session.config.replace(run.config)
            self.session.say(f"Settings of run {run.path.name} loaded: Train repeats it.", "info", topic="run")

        self._settings.start(jobs.load_run, path, on_result=loaded,
                             on_error=lambda err: self.session.say(f"Cannot open run {Path(path).name}: {err}", "error",
                                                                   topic="run"))
