"""After a training, or for an opened run: the final metrics, the confusion matrix and the
gallery of misclassified validation images, whose thumbnails are decoded only when shown."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from gui import jobs
from gui.session import ResultsState, Session
from gui.tasks import TaskRunner

THUMBNAIL_SIDE = 128


class ResultsView(Protocol):
    def clear(self, message: str) -> None: ...
    def show_metrics(self, metrics: Any, class_names: list[str], note: str) -> None: ...
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
            self.view.clear(f"This run failed: {metrics.failed}")
        else:
            self.view.show_metrics(metrics, list(state.class_names), state.note)

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
                jobs.explained_thumbnails,
                classifier,
                to_decode,
                THUMBNAIL_SIDE,
                on_progress=lambda item: self.view.set_thumbnail(*item),
            )
        else:
            self._slot.start(
                jobs.thumbnails, to_decode, THUMBNAIL_SIDE, on_progress=lambda item: self.view.set_thumbnail(*item)
            )
