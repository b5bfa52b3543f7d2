"""Export a run's model (File → Export…): verified by engine.export.bundle on the engine lane (TensorFlow
work never races), reported in the dialog and the banner; an `ExportError` (a disagreeing export,
a format the model cannot take, the optional extra missing) is one readable line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from gui.jobs import export as export_jobs
from gui.session import Session
from gui.tasks import TaskRunner
from gui.text import short_name


class ExportView(Protocol):
    def show_runs(self, runs: list[tuple[str, str]], current: str | None) -> None: ...
    def show_format(self, fmt: str, quantize: str | None) -> None: ...
    def show_busy(self, text: str) -> None: ...
    def show_report(self, report: Any) -> None: ...
    def show_failed(self, text: str) -> None: ...


class ExportController:
    exported = Signal(object)  # engine.export.bundle.ExportReport, or the error

    def __init__(self, session: Session, runner: TaskRunner) -> None:
        self.session = session
        self._export = runner.slot("export", "engine")
        self.view: ExportView | None = None

    def attach(self, view: ExportView) -> None:
        """A view opened (the dialog): offer the runs with a model, the current one first."""
        self.view = view
        runs = [
            (str(run.path), f"{run.path.name} · {run.arch} on {short_name(run.dataset)}")
            for run in self.session.runs.summaries
            if run.has_model and not run.problem
        ]
        current = self.current_run()
        if current and current not in {path for path, _ in runs}:  # a run opened from another folder
            runs.insert(0, (current, Path(current).name))
        prefs = self.session.preferences.value
        view.show_format(prefs.export_format, prefs.export_quantize)
        view.show_runs(runs, current)

    def current_run(self) -> str | None:
        """The run selected in the Runs tab, else the one the window shows (opened or just trained)."""
        selected = self.session.runs.selected
        if len(selected) == 1:
            return selected[0]
        opened, trained = self.session.runs.opened, self.session.training.run_dir
        shown = self.session.results.run_dir
        if shown:
            return shown
        return str(opened.path) if opened is not None else trained or None

    def export(self, run_dir: str, fmt: str, quantize: str | None, out: str) -> None:
        self.session.preferences.update(export_format=fmt, export_quantize=quantize)  # offered first next time
        if self.view is not None:
            self.view.show_busy(
                f"Exporting {Path(run_dir).name} as {fmt}{f' ({quantize})' if quantize else ''} and "
                "checking it against the Keras model…"
            )
        self._export.start(export_jobs.export, run_dir, fmt, out, quantize, on_result=self._done, on_error=self._failed)

    def _done(self, report: Any) -> None:
        if self.view is not None:
            self.view.show_report(report)
        self.session.say(
            f"Exported {report.format}: agreement {report.agreement:.1%} on {report.samples} images, "
            f"{report.size_bytes / 2**20:.1f} MiB, in {report.path}",
            "success",
            topic="export",
        )
        self.exported.emit(report)

    def _failed(self, err: Any) -> None:
        text = f"Export failed: {err}"
        if self.view is not None:
            self.view.show_failed(text)
        self.session.say(text, "error", getattr(err, "details", ""), topic="export")
        self.exported.emit(err)
