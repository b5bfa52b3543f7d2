"""The map: the validation images placed by what the network's last hidden layer makes of them.

Points are coloured by their true class, misclassified ones are marked, hovering shows the image,
clicking opens it with the model's answer and where it looked; images dropped on the window
appear among them as stars (projected with the same projection).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from gui.jobs import classify as classify_jobs
from gui.jobs import insight as insight_jobs
from gui.session import ClassifierState, Session
from gui.tasks import TaskRunner

PREVIEW_SIDE = 96


class MapView(Protocol):
    def show_waiting(self, text: str) -> None: ...
    def show_map(self, embedding: Any, class_names: list[str], title: str = "") -> None: ...
    def add_star(self, ticket: int, point: Any, label: str) -> None: ...
    def show_preview(self, name: str, image: Any, caption: str) -> None: ...
    def show_sample(self, sample: Any) -> None: ...


def validation_name(dataset: Any, index: int) -> str:
    """A validation sample in the user's terms: "x_train[1234]" for array data (its row before
    the split), its file name for a folder, else its place in the validation split."""
    rows = dataset.rows("validation") if hasattr(dataset, "rows") else None
    if rows is not None:
        return rows.name(index)
    sources = dataset.val_sources
    return Path(sources[index]).name if sources else f"validation image {index}"


class MapController:
    drawn = Signal(object)  # the Embedding shown

    def __init__(self, session: Session, runner: TaskRunner, view: MapView) -> None:
        self.session = session
        self.view = view
        self._embed = runner.slot("embedding", "engine")
        self._place = runner.slot("place-on-map", "engine", newest_only=False)
        self._explain = runner.slot("explain-sample", "engine")
        self._preview = runner.slot("map-preview", "io")
        self.embedding: Any = None
        session.events.classifier.connect(self._on_classifier)

    def _source(self) -> tuple[Any, Any]:
        return self.session.classifier.classifier, self.session.results.dataset

    def draw(self, method: str) -> None:
        classifier, dataset = self._source()
        if classifier is None or dataset is None:
            self.view.show_waiting(
                "The map needs a model and its validation images: train one, or open a run whose "
                "dataset is loaded (same settings)."
            )
            return
        self.view.show_waiting(f"Placing {len(dataset.y_val):,} validation images ({method.upper()})…")
        self._embed.start(
            insight_jobs.embed,
            classifier,
            dataset,
            method,
            on_result=self._drawn,
            on_error=lambda err: self.view.show_waiting(f"⚠ No map: {err}"),
        )

    def _drawn(self, embedding: Any) -> None:
        self.embedding = embedding
        self.view.show_map(
            embedding,
            list(self.session.results.dataset.class_names),
            self.session.classifier.name or self.session.results.title,
        )
        self.drawn.emit(embedding)

    def _on_classifier(self, state: ClassifierState) -> None:
        if self.embedding is not None:
            self.embedding = None
            self._embed.cancel()
            self.view.show_waiting("A new model: draw the map again to see where it places the images.")

    # --- dropped images -------------------------------------------------------------------------------
    def place(self, ticket: int, prediction: Any) -> None:
        """A classified image among the points (when the map shows the model that classified it)."""
        classifier = self.session.classifier.classifier
        if self.embedding is None or classifier is None or self.embedding.projector is None:
            return
        label = prediction.verdict or prediction.top[0][0]
        self._place.start(
            insight_jobs.place_image,
            classifier,
            self.embedding,
            ticket,
            prediction.input,
            on_result=lambda placed: self.view.add_star(placed[0], placed[1], label),
        )

    # --- hover and click ------------------------------------------------------------------------------
    def hovered(self, position: int) -> None:
        """The point at `position` in the embedding is under the pointer: show its image."""
        dataset = self.session.results.dataset
        if self.embedding is None or dataset is None:
            return
        index = int(self.embedding.indices[position])
        names = dataset.class_names
        caption = (
            f"true {names[int(self.embedding.labels[position])]} · predicted "
            f"{names[int(self.embedding.predicted[position])]}"
        )
        sources = dataset.val_sources
        name = validation_name(dataset, index)
        if sources:
            self._preview.start(
                classify_jobs.thumbnail,
                sources[index],
                PREVIEW_SIDE,
                on_result=lambda image: self.view.show_preview(name, image, caption),
            )
        else:
            self.view.show_preview(name, dataset.x_val[index], caption)

    def clicked(self, position: int) -> None:
        classifier, dataset = self._source()
        if self.embedding is None or classifier is None or dataset is None:
            return
        index = int(self.embedding.indices[position])
        true = dataset.class_names[int(self.embedding.labels[position])]
        self._explain.start(
            insight_jobs.explain_sample,
            classifier,
            dataset.x_val[index],
            validation_name(dataset, index),
            true,
            on_result=self.view.show_sample,
            on_error=lambda err: self.session.say(f"Cannot explain this image: {err}", "error", topic="insight"),
        )
