"""Classifying dropped, pasted and opened images with the current model: the one writer of
`session.classify` (the cards).

Each image gets a ticket and a card at once; its picture is decoded in the background (the one
way LayerLab decodes images, EXIF included), and it is classified as soon as a model exists.
Every answer names the model that gave it, and no answer outlives its model: when the model
changes (trained, opened, resumed, forked, the ImageNet lesson), every card is classified again
with the new one in the background (answers of the model replaced are dropped even if they were
already computed: the newest model wins), and while no model is there the cards say why they
wait instead of showing the previous model's answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from gui.dropping import MAX_FILES, Expanded
from gui.jobs import classify as classify_jobs
from gui.jobs import runs as runs_jobs
from gui.session import Card, ClassifierState, ClassifyState, Session
from gui.tasks import TaskRunner

ORIGINAL_SIDE = 96
MAX_CARDS = 60


class ClassifyView(Protocol):
    def add_card(self, ticket: int, source: str | bytes) -> None: ...
    def remove_card(self, ticket: int) -> None: ...
    def set_original(self, ticket: int, image: Any) -> None: ...
    def set_status(self, ticket: int, text: str) -> None: ...
    def show_prediction(self, ticket: int, prediction: Any, model: str) -> None: ...
    def show_error(self, ticket: int, message: str) -> None: ...
    def set_overlay(self, ticket: int, image: Any, how: str) -> None: ...
    def clear_overlays(self) -> None: ...
    def show_removed(self, removed: int) -> None: ...
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
        self._overlays = runner.slot("card-overlays", "engine", newest_only=False)
        self._layers = runner.slot("layer-views", "engine")
        self._next_ticket = 0
        self._model: Any = session.classifier.classifier  # the model the cards' answers are of
        self._shown = ClassifyState()  # what the view shows now
        session.preferences.changed.connect(self._on_preferences)
        session.events.classifier.connect(self._on_classifier)
        session.events.engine.connect(lambda engine: self._flush())
        session.events.training.connect(lambda training: self._flush())
        session.events.classify.connect(self._render)
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

    def clear(self) -> None:
        """Forget every card (the Clear button)."""
        self._classify.cancel()
        self._overlays.cancel()
        self._set(cards=(), removed=0)

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
        cards = list(self.session.classify.cards)
        for source in expanded.sources:
            self._next_ticket += 1
            cards.append(Card(self._next_ticket, source, text=self._waiting_reason()))
        removed = max(0, len(cards) - MAX_CARDS)
        self._set(cards=tuple(cards[removed:]), removed=self.session.classify.removed + removed)
        for card in cards[removed:][-len(expanded.sources) :]:
            self._pictures.start(
                classify_jobs.thumbnail,
                card.source,
                ORIGINAL_SIDE,
                on_result=lambda image, t=card.ticket: self.view.set_original(t, image),
            )
        self._flush()

    # --- classification -------------------------------------------------------------------------------
    def _on_classifier(self, state: ClassifierState) -> None:
        self.view.set_model_description(state.description)
        if state.classifier is self._model:
            self._flush()  # what the waiting cards wait for may have changed
            return
        self._model = state.classifier
        self._classify.cancel()  # answers of the model replaced are of no use now (newest wins)
        self._overlays.cancel()
        again = "classifying again with the new model…" if state.classifier is not None else self._waiting_reason()
        self._set(
            cards=tuple(
                replace(card, status="waiting", text=again, prediction=None, model="", overlay=None, explained="")
                for card in self.session.classify.cards
            )
        )
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
        waiting = [card for card in self.session.classify.cards if card.status == "waiting"]
        if not waiting:
            return
        classifier = self.session.classifier.classifier
        if classifier is None:
            reason = self._waiting_reason()
            self._update({card.ticket: replace(card, text=reason) for card in waiting if card.text != reason})
            return
        self._update({card.ticket: replace(card, status="classifying", text="classifying…") for card in waiting})
        prefs = self.session.preferences.value
        name = self.session.classifier.name
        for card in waiting:
            self._classify.start(
                classify_jobs.classify,
                card.ticket,
                classifier,
                card.source,
                prefs.top_k,
                prefs.threshold,
                prefs.explain,
                on_result=lambda result, n=name: self._classified(result, n),
                on_error=lambda err, t=card.ticket, n=name: self._classified(
                    classify_jobs.Classified(t, error=str(err)), n
                ),
            )

    def _classified(self, result: classify_jobs.Classified, model: str) -> None:
        card = self.session.classify.card(result.ticket)
        if card is None:  # cleared meanwhile
            return
        if result.prediction is not None:
            self._update(
                {
                    card.ticket: replace(
                        card,
                        status="answered",
                        text="",
                        prediction=result.prediction,
                        model=model,
                        overlay=result.overlay,
                        explained=result.explained,
                    )
                }
            )
            self.answered.emit(result.ticket, result.prediction)
        else:
            self._update({card.ticket: replace(card, status="failed", text=result.error, prediction=None, model=model)})
            self.session.status(f"Could not classify an image: {result.error}", 8000)
        self.classified.emit(result.ticket)

    # --- where the network looked, and what its layers see --------------------------------------------------
    def _on_preferences(self, keys: set[str]) -> None:
        if "explain" not in keys and "*" not in keys:
            return
        self._overlays.cancel()
        if not self.session.preferences.value.explain:
            self._set(cards=tuple(replace(card, overlay=None, explained="") for card in self.session.classify.cards))
            return
        classifier = self.session.classifier.classifier
        if classifier is None:
            return
        for card in self.session.classify.cards:
            if card.status != "answered" or card.overlay is not None:
                continue
            self._overlays.start(
                classify_jobs.explain_overlay,
                card.ticket,
                classifier,
                card.source,
                on_result=self._explained,
            )

    def _explained(self, result: classify_jobs.Classified) -> None:
        card = self.session.classify.card(result.ticket)
        if card is not None and card.status == "answered" and result.overlay is not None:
            self._update({card.ticket: replace(card, overlay=result.overlay, explained=result.explained)})

    def show_layers(self, ticket: int) -> None:
        """The feature maps of every convolution for one classified image, and the first layer's filters."""
        classifier = self.session.classifier.classifier
        card = self.session.classify.card(ticket)
        if classifier is None or card is None or card.status != "answered":
            self.session.say(
                "Classify the image with a model first: its layers are the model's.", "info", topic="classify"
            )
            return
        title = "pasted image" if isinstance(card.source, bytes) else Path(card.source).name
        self._layers.start(
            classify_jobs.layer_views,
            classifier,
            card.source,
            title,
            on_result=self.view.show_layers,
            on_error=lambda err: self.session.say(f"Cannot show the layers: {err}", "error", topic="classify"),
        )

    # --- the state and its rendering -------------------------------------------------------------------
    def _update(self, changed: dict[int, Card]) -> None:
        if changed:
            self._set(cards=tuple(changed.get(card.ticket, card) for card in self.session.classify.cards))

    def _set(self, **changes: Any) -> None:
        self.session.update("classify", **changes)

    def _render(self, state: ClassifyState) -> None:
        """Tell the view what changed since it was last told (cards are replaced whole when they change)."""
        before = {card.ticket: card for card in self._shown.cards}
        now = {card.ticket for card in state.cards}
        for ticket in before.keys() - now:
            self.view.remove_card(ticket)
        for card in state.cards:
            old = before.get(card.ticket)
            if old is card:
                continue
            if old is None:
                self.view.add_card(card.ticket, card.source)
            if card.status == "answered":
                if old is None or old.prediction is not card.prediction:
                    self.view.show_prediction(card.ticket, card.prediction, card.model)
            elif card.status == "failed":
                self.view.show_error(card.ticket, card.text)
            elif old is None or (old.status, old.text) != (card.status, card.text):
                self.view.set_status(card.ticket, card.text)
            if card.overlay is not None and (old is None or old.overlay is not card.overlay):
                self.view.set_overlay(card.ticket, card.overlay, card.explained)
        if old_overlays := [t for t, c in before.items() if c.overlay is not None and t in now]:
            if all(state.card(t).overlay is None for t in old_overlays):
                self.view.clear_overlays()
        if state.removed != self._shown.removed:
            self.view.show_removed(state.removed)
        self._shown = state
