"""The learning-rate finder: a sweep of the current config on the training lane (a `TrainingJob`,
so the run bar, Stop and the lock on the settings work as for a training), its curve drawn as it
goes, and the suggested rate put in the config on request."""

from __future__ import annotations

from typing import Any, Protocol

from psygnal import Signal

from engine import LrProbe, task_supports
from gui.controllers.training import TrainingController, TrainingJob
from gui.jobs import training as training_jobs
from gui.session import Session

SWEEP_STEPS = 100


class LrFinderView(Protocol):
    def show_running(self, text: str) -> None: ...
    def add_probe(self, lr: float, loss: float) -> None: ...
    def show_sweep(self, lrs: list[float], losses: list[float], suggested: float, text: str) -> None: ...
    def show_stopped(self, text: str) -> None: ...


class LrFinderController:
    found = Signal(object)  # engine.training.lr_finder.LrSweep, or None when stopped

    def __init__(
        self, session: Session, training: TrainingController, view: LrFinderView, steps: int = SWEEP_STEPS
    ) -> None:
        self.session = session
        self.training = training
        self.view = view
        self.steps = steps
        self.sweep: Any = None
        training.event.connect(self._on_event)

    def find(self) -> None:
        if self.training.running or self.training.busy:
            self.session.say(
                "Wait for the training to end (or stop it) before sweeping the learning rate.", "warning", topic="busy"
            )
            return
        config = self.session.config.config
        if not task_supports(config.task, "lr_finder"):  # the engine says which tasks it sweeps
            self.session.say(
                "The learning-rate finder sweeps classifiers; choose a rate for an autoencoder by hand.",
                "warning",
                topic="lr",
            )
            return
        self.view.show_running(
            f"Sweeping the learning rate of {config.arch.name} over {self.steps} batches of "
            f"{config.training.batch_size}…"
        )
        self.training.start(
            TrainingJob(
                work=training_jobs.find_lr,
                extra=(self.steps,),
                on_result=self._found,
                description="Learning-rate finder: building the model…",
                fresh_results=False,
                what="Learning-rate finder",
            )
        )

    def use(self, rate: float) -> None:
        """Put `rate` (rounded to two significant digits) in the config."""
        rate = float(f"{rate:.2g}")
        if self.session.config.update(**{"training.learning_rate": rate}):
            self.session.status(f"Learning rate set to {rate:g} (from the learning-rate finder)", 5000)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, LrProbe):
            self.view.add_probe(event.lr, event.loss)
            self.training.report(
                f"LR finder · batch {event.step + 1}/{event.steps} · rate {event.lr:.1e}",
                (event.step + 1) / max(1, event.steps),
            )

    def _found(self, found: training_jobs.LrFound) -> None:
        sweep = found.sweep
        self.sweep = sweep
        if sweep is None:
            self.training.end("stopped", "Learning-rate finder stopped")
            self.view.show_stopped("Stopped before the sweep ended: nothing to suggest.")
        else:
            ended = "the loss exploded there" if sweep.stopped_early else "the end of the sweep"
            text = (
                f"Suggested: {sweep.suggested_lr:.1e}, a tenth of the rate at the lowest loss (swept to "
                f"{sweep.lrs[-1]:.1e}, {ended})."
            )
            self.training.end(
                "finished",
                f"LR finder: {sweep.suggested_lr:.1e}",
                1.0,
                f"The learning-rate finder suggests {sweep.suggested_lr:.1e} (Training tab)",
            )
            self.view.show_sweep(list(sweep.lrs), list(sweep.losses), sweep.suggested_lr, text)
        self.found.emit(sweep)
