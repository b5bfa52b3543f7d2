"""Going on with a saved run from the Runs tab: resume one that stopped early (Stop, a crash, a
kill) from its last complete epoch up to its planned epochs, or continue or fork it for more
epochs (one dialog: which checkpoint, how many epochs to add, in its own folder or as a new run
with the current settings). The choice is checked by the engine (`plan_keep`) before the dialog
closes; a refusal is said in the dialog. Each is a `TrainingJob` on the training lane
(`training_jobs.keep_training`): the run bar, Pause, Stop and the curves work as for a new
training, the curves start with the epochs already done, and a failure before training leaves
the previous curves and model as they were (the training controller begins the curves only when
the engine says the training started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from engine import LayerLabError, plan_keep, planned_epochs
from gui.controllers.training import TrainingController, TrainingJob
from gui.jobs import training as training_jobs
from gui.session import Session
from gui.tasks import TaskRunner


class KeepView(Protocol):
    def choose_keep(self, offer: Any, current_epochs: int) -> None: ...
    def show_keep_problem(self, text: str) -> None: ...
    def close_keep(self) -> None: ...


class KeepController:
    def __init__(self, session: Session, runner: TaskRunner, training: TrainingController, view: KeepView) -> None:
        self.session = session
        self.training = training
        self.view = view
        self._offer = runner.slot("keep-offer", "io")

    def resume(self, path: str) -> None:
        """Go on with a run that stopped, from its last complete epoch, up to its planned epochs."""
        self._start(path, "resume", 0, 0, f"Resuming run <b>{Path(path).name}</b>", "Resume")

    def keep_wanted(self, path: str) -> None:
        """Offer the run's kept checkpoints (the latest and the best) in the Continue-or-fork dialog."""
        self._offer.start(
            training_jobs.keep_offer,
            path,
            on_result=lambda offer: self.view.choose_keep(offer, self.session.config.config.training.epochs),
            on_error=lambda err: self.session.say(f"Cannot read the checkpoints: {err}", "error", topic="run"),
        )

    def keep(self, path: str, how: str, epoch: int, extra_epochs: int) -> None:
        """`extra_epochs` more epochs after the checkpoint of `epoch` (0-based): "continue" in the run's
        folder, "fork" as a new run with the current settings. Checked first: a refusal is shown in
        the dialog, which stays open."""
        if self.training.running or self.training.busy:
            self.view.show_keep_problem("Wait for the training to end (or stop it) first.")
            return
        try:
            plan = plan_keep(path, how, extra_epochs, epoch=epoch, current=self.session.config.snapshot())
        except LayerLabError as err:
            self.view.show_keep_problem(str(err))
            return
        self.view.close_keep()
        name = Path(path).name
        more = f"{extra_epochs} more epoch{'s' if extra_epochs != 1 else ''}"
        if how == "continue":
            title = f"Continuing run <b>{name}</b> for {more}"
        else:
            title = f"Forking run <b>{name}</b> after epoch {epoch + 1}, for {more}"
        self._start(path, how, epoch, extra_epochs, title, how.title(), plan)

    # kept for scripts: the former separate entry points
    def continue_run(self, path: str, extra_epochs: int) -> None:
        self.keep(path, "continue", -1, extra_epochs)

    def fork(self, path: str, epoch: int, extra_epochs: int | None = None) -> None:
        """A fork after `epoch` (0-based); without `extra_epochs`, up to the current settings' planned
        epochs (at least one more)."""
        if extra_epochs is None:
            extra_epochs = max(1, planned_epochs(self.session.config.config) - epoch - 1)
        self.keep(path, "fork", epoch, extra_epochs)

    def _start(self, path: str, how: str, epoch: int, extra: int, title: str, what: str, plan: Any = None) -> None:
        if self.training.running or self.training.busy:
            self.session.say("Wait for the training to end (or stop it) first.", "warning", topic="busy")
            return
        self.training.start(
            TrainingJob(
                work=training_jobs.keep_training,
                extra=(how, path, epoch, extra, plan),
                pausable=True,
                title=title,
                description=f"{title.replace('<b>', '').replace('</b>', '')}…",
                what=what,
            )
        )
