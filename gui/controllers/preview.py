"""The augmentation preview: a few training images and random augmented copies of them."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from psygnal import Signal

from gui.jobs import data as data_jobs
from gui.session import Session, touches
from gui.tasks import TaskRunner

PREVIEW_IMAGES = 4
PREVIEW_COPIES = 4
DEBOUNCE_MS = 300  # settings change in bursts (typing, spinning): one preview per burst


class PreviewView(Protocol):
    def show_off(self) -> None: ...
    def show_waiting(self, text: str) -> None: ...
    def show_error(self, message: str) -> None: ...
    def show_preview(
        self, originals: np.ndarray, copies: np.ndarray, class_names: list[str], labels: list[int]
    ) -> None: ...


class PreviewController:
    shown = Signal()  # a preview was drawn, or the view was told why not (tests, scripts)

    def __init__(self, session: Session, runner: TaskRunner, view: PreviewView) -> None:
        self.session = session
        self.view = view
        self.runner = runner
        self._slot = runner.slot("preview", "engine")
        self._reseeds = 0
        session.config.changed.connect(lambda keys: touches(keys, "augmentation") and self.schedule())
        session.events.data.connect(lambda data: self.schedule())
        session.events.engine.connect(lambda engine: engine.ready and self.schedule())

    def reseed(self) -> None:
        """Other random copies of the same images."""
        self._reseeds += 1
        self.schedule()

    def schedule(self) -> None:
        self._slot.cancel()  # a preview already computing is stale now
        self.runner.debounce("preview", DEBOUNCE_MS, self.request)

    def request(self) -> None:
        aug = self.session.config.config.augmentation
        data = self.session.data
        picked = pick_preview_images(data.samples) if data.status == "ready" else None
        if not aug.enabled:
            self.view.show_off()
        elif picked is None:
            self.view.show_waiting(
                "No images to preview."
                if data.status == "ready"
                else "no dataset"
                if data.status == "failed"
                else "Waiting for the dataset…"
            )
        elif not self.session.engine.ready:
            self.view.show_waiting("The preview appears once the engine has loaded…")
            return  # scheduled again when the engine is ready
        else:
            images, labels = picked
            self.view.show_waiting("Augmenting…")
            seed = self.session.config.config.training.seed + 1000 * self._reseeds
            self._slot.start(
                data_jobs.preview,
                images,
                labels,
                aug.model_copy(),
                PREVIEW_COPIES,
                seed,
                on_result=self._show,
                on_error=self._failed,
            )
            return
        self.shown.emit()

    def _show(self, preview: data_jobs.Preview) -> None:
        names = list(self.session.data.dataset.class_names) if self.session.data.dataset is not None else []
        self.view.show_preview(preview.originals, preview.copies, names, list(preview.labels))
        self.shown.emit()

    def _failed(self, err: Any) -> None:
        self.view.show_error(str(err) or type(err).__name__)
        self.shown.emit()


def pick_preview_images(samples: dict[int, Any], count: int = PREVIEW_IMAGES) -> tuple[np.ndarray, list[int]] | None:
    """Up to `count` sample images from different classes (first image of each), with their labels."""
    chosen: list[np.ndarray] = []
    labels: list[int] = []
    depth = 0
    while len(chosen) < count:
        added = False
        for label in sorted(samples):
            images = samples[label]
            if images is not None and len(images) > depth and len(chosen) < count:
                chosen.append(np.asarray(images[depth]))
                labels.append(int(label))
                added = True
        if not added:
            break
        depth += 1
    if not chosen:
        return None
    return np.stack(chosen), labels
