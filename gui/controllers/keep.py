"""Going on with a saved run from the Runs tab: resume one that stopped (Stop, a crash, a kill) from
its last complete epoch, continue a finished one for more epochs in the same folder, or fork a
new run from one of its checkpoints with the current settings. Each is a `TrainingJob` on the
training lane (engine.training.resume through `training_jobs.keep_training`): the run bar, Pause, Stop and
the curves work as for a new training, and the curves start with the epochs already done."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from gui.controllers.training import TrainingController, TrainingJob
from gui.jobs import training as training_jobs
from gui.session import Session
from gui.tasks import TaskRunner


class ForkView(Protocol):
    def choose_fork_epoch(self, path: str, epochs: list[int]) -> None: ...


class KeepController:
    def __init__(self, session: Session, runner: TaskRunner, training: TrainingController, view: ForkView) -> None:
        self.session = session
        self.training = training
        self.view = view
        self._checkpoints = runner.slot("run-checkpoints", "io")

    def resume(self, path: str) -> None:
        """Go on with a run that stopped, from its last complete epoch, up to its planned epochs."""
        self._start(path, "resume", 0, f"Resuming run <b>{Path(path).name}</b>", "Resume")

    def continue_run(self, path: str, extra_epochs: int) -> None:
        """`extra_epochs` more epochs for a run, in its own folder."""
        self._start(
            path,
            "continue",
            extra_epochs,
            f"Continuing run <b>{Path(path).name}</b> for {extra_epochs} more epoch{'s' if extra_epochs != 1 else ''}",
            "Continue",
        )

    def fork(self, path: str, epoch: int) -> None:
        """A new run from the checkpoint of `epoch` (0-based) of `path`, with the current training,
        augmentation and freezing settings (the data and architecture stay the run's)."""
        self._start(path, "fork", epoch, f"Forking run <b>{Path(path).name}</b> from epoch {epoch + 1}", "Fork")

    def fork_wanted(self, path: str) -> None:
        """Ask the view which kept checkpoint to fork from (the latest and the best are kept)."""
        self._checkpoints.start(
            training_jobs.checkpoints,
            path,
            on_result=self._listed,
            on_error=lambda err: self.session.say(f"Cannot read the checkpoints: {err}", "error", topic="run"),
        )

    def _listed(self, listed: tuple[str, list[int]]) -> None:
        path, epochs = listed
        if not epochs:
            self.session.say(
                f"Run {Path(path).name} keeps no checkpoint to fork from (it stopped before its first "
                "epoch ended, or was trained before LayerLab kept checkpoints).",
                "warning",
                topic="run",
            )
            return
        self.view.choose_fork_epoch(path, epochs)

    def _start(self, path: str, how: str, amount: int, title: str, what: str) -> None:
        if self.training.running or self.training.busy:
            self.session.say("Wait for the training to end (or stop it) first.", "warning", topic="run")
            return
        self.training.start(
            TrainingJob(
                work=training_jobs.keep_training,
                extra=(how, path, amount),
                pausable=True,
                title=title,
                description=f"{title.replace('<b>', '').replace('</b>', '')}…",
                what=what,
            )
        )
