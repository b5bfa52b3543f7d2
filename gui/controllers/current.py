"""The model the window works with: the one writer of `session.classifier` (what classifies
dropped images) and `session.results` (the final figures the Errors, Map and Labels tabs show).

A training, a run opened, resumed, continued or forked, and the ImageNet lesson all hand their
model here, so each is named the same way everywhere ("run 20261124-101818-digits-mlp"), and a
model replaced is replaced whole: nothing of the previous one lingers under the new one's name.
A model that cannot be had (a run that fails to open) changes nothing: the previous one goes on
classifying, under its own name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gui.jobs import classify as classify_jobs
from gui.session import Session
from gui.tasks import TaskRunner
from gui.text import short_name


def run_title(run_dir: str, arch: str, data: str) -> str:
    """How results and answers name their run: "run NAME · mlp on digits"."""
    return f"run {Path(run_dir).name} · {arch} on {short_name(data)}" if run_dir else f"{arch} on {short_name(data)}"


class CurrentModelController:
    def __init__(self, session: Session, runner: TaskRunner) -> None:
        self.session = session
        self._make = runner.slot("new-classifier", "engine")

    # --- results --------------------------------------------------------------------------------------
    def show_results(
        self, metrics: Any, class_names: Any, note: str, dataset: Any, origin: str, run_dir: str, title: str
    ) -> None:
        self.session.update(
            "results",
            metrics=metrics,
            class_names=tuple(class_names),
            note=note,
            dataset=dataset,
            origin=origin,
            run_dir=run_dir,
            title=title,
        )

    def no_results(self, note: str, run_dir: str = "", title: str = "") -> None:
        self.show_results(None, (), note, None, "training", run_dir, title)

    # --- the classifier -------------------------------------------------------------------------------
    def build(self, model: Any, spec: Any, names: list[str], run_dir: str, description: str) -> None:
        """Make a classifier of a model just trained (in the background); it replaces the current one
        when it is ready."""
        name = f"run {Path(run_dir).name}"
        self.loading("Preparing the new model…")

        def ready(classifier: Any) -> None:
            self.use(classifier, name, description, run_dir)

        def failed(err: Any) -> None:
            self.failed(f"Cannot classify: {err}")
            self.session.say(f"Cannot classify with this model: {err}", "error", topic="classify")

        self._make.start(classify_jobs.make_classifier, model, spec, names, run_dir, on_result=ready, on_error=failed)

    def loading(self, description: str) -> None:
        """A new model is on its way: nothing answers until it is there."""
        self.session.update(
            "classifier", classifier=None, status="loading", description=description, name="", run_dir=""
        )

    def use(self, classifier: Any, name: str, description: str, run_dir: str = "") -> None:
        self.session.update(
            "classifier", classifier=classifier, status="ready", description=description, name=name, run_dir=run_dir
        )

    def failed(self, description: str) -> None:
        self.session.update(
            "classifier", classifier=None, status="failed", description=description, name="", run_dir=""
        )

    def none(self, description: str = "No model yet — train one or open a run.") -> None:
        self.session.update("classifier", classifier=None, status="none", description=description, name="", run_dir="")
