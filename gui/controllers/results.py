"""After a training, or for an opened run: the final metrics, the confusion matrix and the
gallery of misclassified validation images, whose thumbnails are decoded only when shown."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from engine import per_class_from_confusion
from gui.jobs import classify as classify_jobs
from gui.session import ResultsState, Session
from gui.tasks import TaskRunner

THUMBNAIL_SIDE = 128


class ResultsView(Protocol):
    def clear(self, message: str) -> None: ...
    def show_metrics(
        self, metrics: Any, class_names: list[str], note: str, per_class: list[Any], title: str = ""
    ) -> None: ...
    def set_thumbnail(self, index: int, image: np.ndarray | None) -> None: ...
    def forget_thumbnails(self) -> None: ...


class ResultsController:
    def __init__(self, session: Session, runner: TaskRunner, view: ResultsView) -> None:
        self.session = session
        self.view = view
        self._slot = runner.slot("thumbnails", "io", newest_only=False)
        self._explained = runner.slot("explained-thumbnails", "engine", newest_only=False)
        session.events.results.connect(self._render)
        session.preferences.changed.connect(self._on_preferences)
        self._render(session.results)

    def _on_preferences(self, keys: set[str]) -> None:
        if "explain" in keys or "*" in keys:  # the gallery's pictures change: with or without the heat map
            self._slot.cancel()
            self._explained.cancel()
            self.view.forget_thumbnails()

    def _render(self, state: ResultsState) -> None:
        self._slot.cancel()  # thumbnails of the previous results are of no use now
        self._explained.cancel()
        metrics = state.metrics
        if metrics is None:
            self.view.clear(state.note or "Train a model to see where it goes wrong.")
        elif metrics.failed:
            self.view.clear(
                f"This run ({state.title}) failed: {metrics.failed}"
                if state.title
                else f"This run failed: {metrics.failed}"
            )
        else:
            self.view.show_metrics(
                metrics, list(state.class_names), state.note, per_class_rows(metrics, state.class_names), state.title
            )

    def thumbnails_wanted(self, entries: list[Any]) -> None:
        """The gallery shows these misclassified entries and lacks their pictures."""
        dataset = self.session.results.dataset
        classifier = self.session.classifier.classifier
        explain = self.session.preferences.value.explain and classifier is not None
        to_decode = []
        for entry in entries:
            if entry.source:
                to_decode.append((entry.index, entry.source))
            elif dataset is not None and 0 <= entry.index < len(dataset.x_val):
                if explain:
                    to_decode.append((entry.index, dataset.x_val[entry.index]))
                else:
                    self.view.set_thumbnail(entry.index, dataset.x_val[entry.index])
            else:
                self.view.set_thumbnail(entry.index, None)
        if not to_decode:
            return
        if explain:
            self._explained.start(
                classify_jobs.explained_thumbnails,
                classifier,
                to_decode,
                THUMBNAIL_SIDE,
                on_progress=lambda item: self.view.set_thumbnail(*item),
            )
        else:
            self._slot.start(
                classify_jobs.thumbnails,
                to_decode,
                THUMBNAIL_SIDE,
                on_progress=lambda item: self.view.set_thumbnail(*item),
            )


def per_class_rows(metrics: Any, class_names: Any) -> list[Any]:
    """The run's per-class table; worked out from its confusion matrix for runs saved before
    metrics.json kept one (class names as the confusion view shows them)."""
    if metrics.per_class:
        return list(metrics.per_class)
    matrix = metrics.confusion_matrix
    names = [str(name) for name in class_names or []]
    if len(names) != len(matrix):
        names = [str(i) for i in range(len(matrix))]
    return per_class_from_confusion(matrix, names) if matrix else []
