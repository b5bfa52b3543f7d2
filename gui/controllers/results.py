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


class ResultsController:
    def __init__(self, session: Session, runner: TaskRunner, view: ResultsView) -> None:
        self.session = session
        self.view = view
        self._slot = runner.slot("thumbnails", "io", newest_only=False)
        session.events.results.connect(self._render)
        self._render(session.results)

    def _render(self, state: ResultsState) -> None:
        self._slot.cancel()  # thumbnails of the previous results are of no use now
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
        to_decode = []
        for entry in entries:
            if entry.source:
                to_decode.append((entry.index, entry.source))
            elif dataset is not None and 0 <= entry.index < len(dataset.x_val):
                self.view.set_thumbnail(entry.index, dataset.x_val[entry.index])
            else:
                self.view.set_thumbnail(entry.index, None)
        if to_decode:
            self._slot.start(jobs.thumbnails, to_decode, THUMBNAIL_SIDE,
                             on_progress=lambda item: self.view.set_thumbnail(*item))
