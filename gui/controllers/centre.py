"""Which views the centre offers, and which it shows: the curves always; a comparison, a grid, a
lesson and an autoencoder's reconstructions while they exist. A new comparison or grid opens its
view, a lesson chosen opens its card, and closing one returns to the curves; a training started
shows its curves."""

from __future__ import annotations

from typing import Any, Protocol

from gui.session import AutoencoderState, GridState, LessonState, RunsState, Session, TrainingState, touches

CURVES, COMPARISON, GRID, LESSON, AUTOENCODER = "curves", "comparison", "grid", "lesson", "autoencoder"


class CentreView(Protocol):
    def set_available(self, name: str, available: bool) -> None: ...
    def open(self, name: str) -> None: ...


class CentreController:
    def __init__(self, session: Session, view: CentreView) -> None:
        self.session = session
        self.view = view
        self._compared: Any = None
        self._grid = session.grid.status
        self._lesson = (session.lesson.name, session.lesson.status)
        self._training = session.training.running
        session.events.runs.connect(self._on_runs)
        session.events.grid.connect(self._on_grid)
        session.events.lesson.connect(self._on_lesson)
        session.events.autoencoder.connect(self._on_autoencoder)
        session.events.training.connect(self._on_training)
        session.config.changed.connect(lambda keys: touches(keys, "task") and self._offer_autoencoder())
        self._offer_autoencoder()

    def show_curves(self) -> None:
        self.view.open(CURVES)

    def _on_runs(self, runs: RunsState) -> None:
        if runs.compared is self._compared:
            return
        self._compared = runs.compared
        if runs.compared is not None:
            self.view.open(COMPARISON)
        else:
            self.view.set_available(COMPARISON, False)

    def _on_grid(self, grid: GridState) -> None:
        before, self._grid = self._grid, grid.status
        if grid.status == "idle":
            self.view.set_available(GRID, False)
        elif grid.status == "running" and before != "running":
            self.view.open(GRID)
        else:
            self.view.set_available(GRID, True)

    def _on_lesson(self, lesson: LessonState) -> None:
        (name, status), self._lesson = self._lesson, (lesson.name, lesson.status)
        if not lesson.name:
            self.view.set_available(LESSON, False)
        elif lesson.name != name or (lesson.status in ("finished", "failed") and status != lesson.status):
            self.view.open(LESSON)  # a lesson chosen, or its figure measured beside the published one

    def _on_autoencoder(self, state: AutoencoderState) -> None:
        if state.status == "ready":
            self.view.open(AUTOENCODER)
        else:
            self._offer_autoencoder()

    def _offer_autoencoder(self) -> None:
        active = self.session.config.config.task == "autoencoder" or self.session.autoencoder.status != "none"
        self.view.set_available(AUTOENCODER, active)

    def _on_training(self, training: TrainingState) -> None:
        started = training.running and not self._training
        self._training = training.running
        if started and self.session.grid.status != "running":
            self.view.open(CURVES)
