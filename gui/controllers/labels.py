"""Likely label errors: found by confident learning on out-of-sample predictions (k-fold models
trained on the training lane), shown most suspicious first; the user excludes or relabels, and
the decisions are kept beside the dataset for the next training (never in the user's files)."""

from __future__ import annotations

from typing import Any, Protocol

from psygnal import Signal

from engine import RecordedDecision
from gui.controllers.training import TrainingController, TrainingJob
from gui.jobs import classify as classify_jobs
from gui.jobs import insight as insight_jobs
from gui.session import DataState, Session
from gui.tasks import TaskRunner
from gui.text import short_name

THUMBNAIL_SIDE = 128


class LabelsView(Protocol):
    def show_waiting(self, text: str) -> None: ...
    def show_issues(self, issues: list[Any], class_names: list[str], title: str = "") -> None: ...
    def set_thumbnail(self, key: Any, image: Any) -> None: ...
    def mark(self, key: Any, action: str, label: str) -> None: ...
    def show_decisions(self, excluded: int, relabelled: int, sidecar: str) -> None: ...


def decision_key(issue: Any) -> Any:
    """How a decision names a sample: its file for folder data, its array and row for array
    data, else (split, index) (`LabelIssue.key`)."""
    return issue.key


class LabelsController:
    found = Signal(object)  # the list of LabelIssue shown (or None when the check was stopped)

    def __init__(self, session: Session, runner: TaskRunner, training: TrainingController, view: LabelsView) -> None:
        self.session = session
        self.training = training
        self.view = view
        self._pictures = runner.slot("label-pictures", "io", newest_only=False)
        self._decide = runner.slot("label-decision", "io", newest_only=False)
        self.issues: list[Any] = []
        self._checked = ""  # what the last check was of: the data, the model, folds and epochs
        training.event.connect(self._on_event)
        session.events.data.connect(self._on_data)

    def find(self, folds: int, epochs: int) -> None:
        data = self.session.data
        if data.status != "ready":
            self.view.show_waiting("Load a dataset first.")
            return
        config = self.session.config.config
        epochs_text = (
            f"{epochs} epoch{'s' if epochs != 1 else ''}" if epochs else f"{config.training.epochs} epochs as set"
        )
        self._checked = f"{short_name(config.data.name)} ({config.arch.name}, {folds} folds × {epochs_text})"
        self.view.show_waiting(
            f"Training {folds} models on {folds - 1}/{folds} of the data each, to judge every label "
            "by a model that never saw it…"
        )
        self.training.start(
            TrainingJob(
                work=insight_jobs.find_label_issues,
                extra=(folds, epochs),
                on_result=self._found,
                description="Looking for suspicious labels…",
                fresh_results=False,
                what="Label check",
            )
        )

    def _on_event(self, event: Any) -> None:
        if type(event).__name__ == "LabelIssueProgress":
            self.training.report(
                f"Checking labels: {event.fold} of {event.folds} folds done", event.fold / max(1, event.folds)
            )

    def _found(self, issues: Any) -> None:
        stopped = issues is None
        self.training.end(
            "stopped" if stopped else "finished",
            "Label check stopped" if stopped else f"Label check: {len(issues)} suspicious",
        )
        if stopped:
            self.view.show_waiting("Stopped before every fold was done: nothing to show.")
        else:
            self.issues = list(issues)
            self.view.show_issues(self.issues, list(self.session.data.dataset.class_names), self._checked)
            self.session.say(
                f"{len(issues)} samples look mislabelled (see the Labels tab): exclude or relabel them, "
                "and the next training honours it.",
                "info",
                topic="labels",
            )
        self.found.emit(issues)

    def _on_data(self, data: DataState) -> None:
        if data.status == "loading" and self.issues:
            self.issues = []
            self.view.show_waiting("Another dataset: look for label issues in it.")

    # --- pictures and decisions ---------------------------------------------------------------------
    def thumbnails_wanted(self, issues: list[Any]) -> None:
        dataset = self.session.data.dataset
        files = []
        for issue in issues:
            if issue.source:
                files.append((decision_key(issue), issue.source))
            elif dataset is not None:
                self.view.set_thumbnail(decision_key(issue), dataset.split(issue.split)[0][issue.index])
        if files:
            self._pictures.start(
                classify_jobs.thumbnails, files, THUMBNAIL_SIDE, on_progress=lambda item: self.view.set_thumbnail(*item)
            )

    def decide(self, issue: Any, action: str, label: str = "") -> None:
        """`action`: "exclude", "relabel" (to `label`) or "keep" (the given label is right)."""
        config = self.session.config.config
        self._decide.start(
            insight_jobs.decide_label,
            config.data,
            config.training.seed,
            decision_key(issue),
            action,
            label,
            on_result=self._decided,
            on_error=lambda err: self.session.say(f"Cannot save the decision: {err}", "error", topic="labels"),
        )

    def _decided(self, saved: RecordedDecision) -> None:
        self.view.mark(saved.key, saved.action, saved.label)
        self.view.show_decisions(saved.excluded, saved.relabelled, saved.sidecar)
