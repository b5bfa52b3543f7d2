"""Classifying dropped, pasted and opened images with the current model.

Each image gets a ticket and a card at once; its picture is decoded in the background (the one
way LayerLab decodes images, EXIF included), and it is classified as soon as a model exists.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from gui.dropping import MAX_FILES, Expanded
from gui.jobs import classify as classify_jobs
from gui.jobs import runs as runs_jobs
from gui.session import ClassifierState, Session
from gui.tasks import TaskRunner

ORIGINAL_SIDE = 96


class ClassifyView(Protocol):
    def add_card(self, ticket: int, source: str | bytes) -> None: ...
    def set_original(self, ticket: int, image: Any) -> None: ...
    def set_status(self, ticket: int, text: str) -> None: ...
    def show_prediction(self, ticket: int, prediction: Any) -> None: ...
    def show_error(self, ticket: int, message: str) -> None: ...
    def set_overlay(self, ticket: int, image: Any, how: str) -> None: ...
    def clear_overlays(self) -> None: ...
    def show_layers(self, views: Any) -> None: ...
    def set_model_description(self, text: str) -> None: ...
    def reveal(self) -> None: ...


class ClassifyController:
    classified = Signal(int)  # the ticket of an image classified (or refused)
    answered = Signal(int, object)  # (ticket, engine.inference.classifier.Prediction) of an image classified

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        view: ClassifyView,
        remember_folder: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session
        self.view = view
        self.remember_folder = remember_folder
        self._expand = runner.slot("expand-sources", "io", newest_only=False)
        self._pictures = runner.slot("card-pictures", "io", newest_only=False)
        self._classify = runner.slot("classify", "engine", newest_only=False)
        self._next_ticket = 0
        self._pending: list[tuple[int, Any]] = []  # waiting for a model
        self._in_flight: dict[int, Any] = {}  # being classified
        self._answered: dict[int, Any] = {}  # classified: their sources, for overlays and layer views
        self._overlays = runner.slot("card-overlays", "engine", newest_only=False)
        self._layers = runner.slot("layer-views", "engine")
        session.preferences.changed.connect(self._on_preferences)
        session.events.classifier.connect(self._on_classifier)
        session.events.engine.connect(lambda engine: self._flush())
        session.events.training.connect(lambda training: self._flush())
        view.set_model_description(session.classifier.description)

    # --- intent ---------------------------------------------------------------------------------------
    def classify_sources(self, raw: list[str | bytes]) -> None:
        """Files, folders or image bytes: expand folders in the background, then classify each image."""
        if not raw:
            self.session.say(
                "Nothing to classify: drop image files or a folder, or paste an image.", "warning", topic="classify"
            )
            return
        if self.remember_folder is not None:
            for source in raw:
                if isinstance(source, str):
                    self.remember_folder(source)
        self._expand.start(
            runs_jobs.expand_sources,
            list(raw),
            MAX_FILES,
            on_result=self._expanded,
            on_error=lambda err: self.session.say(f"Cannot read what was dropped: {err}", "error", topic="classify"),
        )

    def _expanded(self, expanded: Expanded) -> None:
        notes = []
        if expanded.empty_folders:
            names = ", ".join(Path(f).name or f for f in expanded.empty_folders[:3])
            notes.append(f"no images in {names} (LayerLab reads PNG, JPEG, GIF, BMP, TIFF and WebP files)")
        if expanded.truncated:
            notes.append(f"only the first {MAX_FILES} images are classified")
        if notes:
            self.session.say("Classify: " + "; ".join(notes) + ".", "warning", topic="classify")
        if not expanded.sources:
            return
        self.view.reveal()
        for source in expanded.sources:
            self._next_ticket += 1
            ticket = self._next_ticket
            self.view.add_card(ticket, source)
            self._pictures.start(
                classify_jobs.thumbnail,
                source,
                ORIGINAL_SIDE,
                on_result=lambda image, t=ticket: self.view.set_original(t, image),
            )
            self._pending.append((ticket, source))
        self._flush()

    # --- classification -------------------------------------------------------------------------------
    def _on_classifier(self, state: ClassifierState) -> None:
        self.view.set_model_description(state.description)
        self._answered.clear()  # overlays and layer views belong to the model that answered
        if state.classifier is None and self._in_flight:
            # A failed or replaced model must not answer: its queued images wait for the next one.
            self._classify.cancel()
            self._pending = sorted(self._in_flight.items()) + self._pending
            self._in_flight.clear()
        self._flush()

    def _waiting_reason(self) -> str:
        if not self.session.engine.ready:
            return "waiting for the engine…" if self.session.engine.status == "loading" else "the engine is unavailable"
        if self.session.classifier.status == "loading":
            return "waiting for the model…"
        if self.session.training.running:
            return "waiting for the training to finish…"
        return "train or open a run first"

    def _flush(self) -> None:
        if not self._pending:
            return
        classifier = self.session.classifier.classifier
        if classifier is None:
            reason = self._waiting_reason()
            for ticket, _ in self._pending:
                self.view.set_status(ticket, reason)
            return
        prefs = self.session.preferences.value
        for ticket, source in self._pending:
            self.view.set_status(ticket, "classifying…")
            self._in_flight[ticket] = source
            self._classify.start(
                classify_jobs.classify,
                ticket,
                classifier,
                source,
                prefs.top_k,
                prefs.threshold,
                prefs.explain,
                on_result=self._classified,
                on_error=lambda err, t=ticket: self._classified(classify_jobs.Classified(t, error=str(err))),
            )
        self._pending.clear()

    def _classified(self, result: classify_jobs.Classified) -> None:
        source = self._in_flight.pop(result.ticket, None)
        if result.prediction is not None:
            self._answered[result.ticket] = source
            self.view.show_prediction(result.ticket, result.prediction)
            if result.overlay is not None:
                self.view.set_overlay(result.ticket, result.overlay, result.explained)
            self.answered.emit(result.ticket, result.prediction)
        else:
            self.view.show_error(result.ticket, result.error)
            self.session.status(f"Could not classify an image: {result.error}", 8000)
        self.classified.emit(result.ticket)

    # --- where the network looked, and what its layers see --------------------------------------------------
    def _on_preferences(self, keys: set[str]) -> None:
        if "explain" not in keys and "*" not in keys:
            return
        self._overlays.cancel()
        if not self.session.preferences.value.explain:
            self.view.clear_overlays()
            return
        classifier = self.session.classifier.classifier
        if classifier is None:
            return
        for ticket, source in self._answered.items():
            self._overlays.start(
                classify_jobs.explain_overlay,
                ticket,
                classifier,
                source,
                on_result=lambda result: (
                    result.overlay is not None
                    and self.view.set_overlay(result.ticket, result.overlay, result.explained)
                ),
            )

    def show_layers(self, ticket: int) -> None:
        """The feature maps of every convolution for one classified image, and the first layer's filters."""
        classifier = self.session.classifier.classifier
        source = self._answered.get(ticket)
        if classifier is None or source is None:
            self.session.say(
                "Classify the image with a model first: its layers are the model's.", "info", topic="classify"
            )
            return
        title = "pasted image" if isinstance(source, bytes) else Path(source).name
        self._layers.start(
            classify_jobs.layer_views,
            classifier,
            source,
            title,
            on_result=self.view.show_layers,
            on_error=lambda err: self.session.say(f"Cannot show the layers: {err}", "error", topic="classify"),
        )
