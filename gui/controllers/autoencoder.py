"""Autoencoders in the window (config.task == "autoencoder"): the curves show the reconstruction
loss only (there is no accuracy to plot), a finished training shows a few validation images as
originals, noisy inputs and reconstructions, and dropped images are reconstructed, not classified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from gui.controllers.training import TrainingController
from gui.jobs import autoencoder as autoencoder_jobs
from gui.session import AutoencoderState, Session, touches
from gui.tasks import TaskRunner

SAMPLES = 5


class ReconstructionView(Protocol):
    def show_autoencoder(self, state: AutoencoderState) -> None: ...
    def add_reconstruction(self, ticket: int, name: str) -> None: ...
    def show_reconstruction(self, ticket: int, result: Any) -> None: ...


class AccuracyView(Protocol):
    def show_accuracy(self, shown: bool, why: str = "") -> None: ...


class AutoencoderController:
    reconstructed = Signal(int)  # the ticket of a dropped image reconstructed (or refused)

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        training: TrainingController,
        view: ReconstructionView,
        curves: AccuracyView,
    ) -> None:
        self.session = session
        self.view = view
        self.curves = curves
        self._view_slot = runner.slot("autoencoder-view", "engine")
        self._images = runner.slot("reconstruct", "engine", newest_only=False)
        self._next_ticket = 0
        session.events.autoencoder.connect(view.show_autoencoder)
        session.config.changed.connect(self._on_config)
        training.finished.connect(self._on_finished)
        self._on_config({"*"})

    @property
    def active(self) -> bool:
        """Whether the window is about an autoencoder: dropped images are reconstructed."""
        return self.session.config.config.task == "autoencoder"

    def _on_config(self, keys: set[str]) -> None:
        if touches(keys, "task"):
            self.curves.show_accuracy(
                not self.active,
                "an autoencoder has no accuracy: its loss is the reconstruction "
                "error (mean squared error on 0..1 pixels)",
            )

    # --- after training -------------------------------------------------------------------------------
    def _on_finished(self, result: Any) -> None:
        if not self.active or getattr(result, "model", None) is None or getattr(result, "failed", None):
            return
        dataset = result.dataset
        images = dataset.x_val[:SAMPLES] if dataset is not None and len(dataset.x_val) else []
        config = self.session.config.config
        self.session.update(
            "autoencoder",
            status="loading",
            reconstructor=None,
            samples=(),
            note="Reconstructing a few validation images…",
        )
        self._view_slot.start(
            autoencoder_jobs.autoencoder_view,
            result.model,
            result.spec,
            config.arch.noise,
            images,
            config.training.seed,
            on_result=lambda v: self._ready(v, config.arch.noise),
            on_error=self._failed,
        )

    def _ready(self, view: autoencoder_jobs.AutoencoderView, noise: float) -> None:
        what = f"noise σ={noise:g}" if noise > 0 else "no noise (not denoising)"
        self.session.update(
            "autoencoder",
            status="ready",
            reconstructor=view.reconstructor,
            samples=view.samples,
            note=f"Validation images: original · noisy input ({what}) · reconstruction. "
            "Drop images on the window to reconstruct them.",
        )

    def _failed(self, err: Any) -> None:
        self.session.update(
            "autoencoder",
            status="failed",
            reconstructor=None,
            samples=(),
            note=f"Cannot reconstruct with this model: {err}",
        )

    # --- dropped images -------------------------------------------------------------------------------
    def reconstruct_sources(self, raw: list[str | bytes]) -> None:
        """Reconstruct dropped files (folders are not expanded here: the first images of a drop)."""
        reconstructor = self.session.autoencoder.reconstructor
        if reconstructor is None:
            self.session.say(
                "Train the autoencoder first: dropped images are then reconstructed.", "info", topic="autoencoder"
            )
            return
        for source in [s for s in raw if isinstance(s, bytes) or Path(s).is_file()][:12]:
            self._next_ticket += 1
            ticket = self._next_ticket
            self.view.add_reconstruction(ticket, "pasted image" if isinstance(source, bytes) else Path(source).name)
            self._images.start(
                autoencoder_jobs.reconstruct_image,
                ticket,
                reconstructor,
                source,
                on_result=self._shown,
                on_error=lambda err, t=ticket: self._shown(autoencoder_jobs.Reconstructed(t, problem=str(err))),
            )

    def _shown(self, result: autoencoder_jobs.Reconstructed) -> None:
        self.view.show_reconstruction(result.ticket, result)
        self.reconstructed.emit(result.ticket)
