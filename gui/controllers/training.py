"""Training: start and stop, live progress and curves, and what a finished run leaves.

The engine's `train` runs as a task on the training lane and reports its events (plain data)
through the task's progress channel, so they arrive on the UI thread in order. Stop asks the
engine to stop within one batch; the run so far is saved and still delivered.

This controller is the one writer of `session.training` (the run bar): the other jobs of the
training lane (a grid, a label check, the learning-rate finder) report their progress through
`report` and `end`. The curves begin when the engine says the training started, never before: a
start that fails (a fork refused, data that cannot load) leaves the previous curves as they were.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from psygnal import Signal

from engine import (
    BatchEnd,
    Continued,
    EpochEnd,
    Failed,
    Finished,
    Paused,
    PauseToken,
    Preparing,
    Resumed,
    StageChanged,
    Started,
    dataset_key,
)
from gui.controllers.current import CurrentModelController, run_title
from gui.controllers.curves import CurvesController
from gui.jobs import training as training_jobs
from gui.session import EngineState, Session, TrainingState, finite, memory_budget
from gui.tasks import TaskRunner
from gui.text import format_seconds, short_name

log = logging.getLogger(__name__)

FAILURE_TITLES = {
    "nan": "Training diverged",
    "oom": "Out of memory",
    "data": "Dataset problem",
    "config": "Configuration problem",
}


class TrainingView(Protocol):
    def show_training(self, state: TrainingState) -> None: ...
    def show_device(self, device: str, memory_mb: float | None) -> None: ...


@dataclass(frozen=True)
class TrainingJob:
    """What runs on the training lane: one training (`training_jobs.train`) or a queue of them (a grid).

    `work(task, config, dataset, runs_root, *extra)` reports engine events through the task;
    `on_result` replaces the single training's handling of what it returns.
    """

    work: Callable[..., Any] = training_jobs.train
    extra: tuple[Any, ...] = ()
    on_result: Callable[[Any], None] | None = None
    description: str = "Preparing data and model…"
    queue: bool = False  # several runs one after another: the window stays busy between them
    fresh_results: bool = True  # a training replaces the curves and the results; a label check does not
    what: str = "Training"  # how messages name the job
    pausable: bool = False  # `work` takes `pause=` (an engine PauseToken): the run bar offers Pause
    title: str = ""  # the line above the curves when it starts (default: what trains on what)


@dataclass(frozen=True)
class TrainingCrash:
    """What `finished` carries when `train` itself raised (it should not; the window survives anyway)."""

    error: BaseException
    details: str = ""


class TrainingController:
    event = Signal(object)  # every engine event, after the window has handled it
    finished = Signal(object)  # engine.training.TrainResult, or TrainingCrash

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        view: TrainingView,
        curves: CurvesController,
        runs_root: Path | None = None,
        current: CurrentModelController | None = None,
    ) -> None:
        self.session = session
        self.runner = runner
        self.view = view
        self.curves = curves
        self.current = current or CurrentModelController(session, runner)
        self.runs_root = runs_root
        self._slot = runner.slot("training", "training")
        self._started: Started | None = None
        self._origin: tuple[float, float] | None = None  # (seconds, fraction) when progress began
        self._dataset: Any = None
        self._job = TrainingJob()
        self._shared: training_jobs.Resources | None = None
        self._pause: PauseToken | None = None
        self.closing = False  # the window is closing: a training stopped now makes no classifier
        session.events.training.connect(view.show_training)
        session.events.engine.connect(self._on_engine)
        view.show_training(session.training)

    @property
    def running(self) -> bool:
        return self.session.training.running

    @property
    def busy(self) -> bool:
        """A training task is queued, running, or its result is not yet delivered."""
        return self._slot.busy

    # --- intent ---------------------------------------------------------------------------------------
    def start(self, job: TrainingJob | None = None) -> None:
        """Train the current config (or run `job`: a grid), as soon as the engine is ready."""
        if self.running or self._slot.busy:
            return
        self._job = job or TrainingJob(pausable=True)
        self.session.clear_message()
        engine = self.session.engine
        if engine.status == "failed":
            self._engine_failed(engine)
        elif not engine.ready:
            self._set(status="waiting", text="Waiting for the engine to load…", eta="", fraction=0.0)
        else:
            self._launch()

    def toggle_pause(self) -> None:
        """Pause a running training after its current batch (everything stays in memory), or resume it."""
        status = self.session.training.status
        if self._pause is None or not self.session.training.pausable:
            return
        if status in ("pausing", "paused"):
            self._pause.resume()
            self._origin = None  # the time-left estimate starts again: the pause is no training time
            self._set(status="running", text=self.session.training.run_note + "Going on…")
        elif status == "running":
            self._pause.pause()
            self._set(status="pausing", text="Pausing after this batch…", eta="")

    def stop(self) -> None:
        status = self.session.training.status
        if status == "waiting":
            self._set(status="idle", text="Cancelled before it started")
        elif self.running and status != "stopping":
            self._slot.stop()
            self._set(status="stopping", text="Stopping after this batch…", eta="")

    # --- progress of the other jobs of the training lane (a grid, a label check, the LR finder) ---------
    def report(self, text: str, fraction: float | None = None, eta: str = "") -> None:
        """A job's progress, unless it is being stopped (then the bar keeps saying so)."""
        if self.session.training.status == "stopping":
            return
        changes: dict[str, Any] = {"status": "running", "text": text, "eta": eta}
        if fraction is not None:
            changes["fraction"] = fraction
        self._set(**changes)

    def end(self, status: str, text: str, fraction: float | None = None, tooltip: str = "") -> None:
        """A job's end as the run bar shows it: "finished", "stopped" or "failed"."""
        changes: dict[str, Any] = {"status": status, "text": text, "eta": "", "run_note": "", "tooltip": tooltip}
        if fraction is not None:
            changes["fraction"] = fraction
        self._set(**changes)

    def set_run_note(self, note: str) -> None:
        """Which run of a queue trains now ("run 3/8 (dropout on) · "): it leads every progress text."""
        self._set(run_note=note)

    # --- start-up -------------------------------------------------------------------------------------
    def _on_engine(self, engine: EngineState) -> None:
        self.view.show_device(engine.device, engine.gpu_memory_mb)
        if self.session.training.status != "waiting":
            return
        if engine.ready:
            self._launch()
        elif engine.status == "failed":
            self._engine_failed(engine)

    def _engine_failed(self, engine: EngineState) -> None:
        self._set(status="idle", text="Engine unavailable")
        self.session.say(engine.error or "the training engine could not start", "error", topic="engine")

    def _launch(self) -> None:
        config = self.session.config.snapshot()
        data = self.session.data
        same = data.key == dataset_key(config.data, config.training.seed)
        self._dataset = data.dataset if same else None
        self._started, self._origin = None, None
        self._set(
            status="preparing",
            text=self._job.description,
            fraction=0.0,
            eta="",
            feature_cache=None,
            cache_note="",
            stage_note="",
            run_note="",
            run_dir="",
            tooltip="",
            device="",
            pausable=self._job.pausable,
        )
        work = self._job.work
        if self._job.pausable:
            self._pause = PauseToken()
            work = partial(work, pause=self._pause)
        self._slot.start(
            work,
            config,
            self._dataset,
            self.runs_root,
            self._resources(),
            *self._job.extra,
            on_progress=self._on_event,
            on_result=self._on_result,
            on_error=self._on_crash,
        )

    def _resources(self) -> training_jobs.Resources:
        """One feature cache for every training of the window (features of a frozen base are reused
        across runs), made again when the memory budget changes."""
        budget = memory_budget(self.session.preferences.value)
        if self._shared is None or self._shared.budget != budget:
            from engine import FeatureCache

            self._shared = training_jobs.Resources(FeatureCache.default(budget), budget)
        return self._shared

    # --- events ---------------------------------------------------------------------------------------
    def _on_event(self, event: Any) -> None:
        handler = {
            Started: self._on_started,
            Preparing: self._on_preparing,
            BatchEnd: self._on_batch,
            EpochEnd: self._on_epoch,
            StageChanged: self._on_stage,
            Finished: self._on_finished,
            Failed: self._on_failed,
            Paused: self._on_paused,
            Continued: self._on_continued,
            Resumed: self._on_resumed,
        }.get(type(event))
        if handler is not None:
            handler(event)
        self.event.emit(event)

    def _on_started(self, event: Started) -> None:
        self._started, self._origin = event, None
        config = self.session.config.config
        title = self._job.title or f"Training <b>{config.arch.name}</b> on <b>{short_name(config.data.name)}</b>"
        name = Path(event.run_dir).name if event.run_dir else ""
        run = f" · run {name}" if name and name not in title else ""  # the curves name their run
        self.curves.begin(
            f"{title}{run} · {event.samples_train:,} training / {event.samples_val:,} validation images · "
            f"{event.trainable_params:,} of {event.total_params:,} parameters trainable",
            event.epochs,
            event.num_classes or None,
            event.note,
        )
        run = self.session.training.run_note
        text = run + (
            "Computing the frozen layers' features once…" if event.feature_cache else f"Epoch 1/{event.epochs}"
        )
        self._set(
            status="extracting" if event.feature_cache else "running",
            epochs=event.epochs,
            feature_cache=event.feature_cache,
            cache_note=event.note,
            run_dir=event.run_dir,
            device=event.device,
            text=text,
        )
        if event.note:  # why (not) cached features: stays in the status bar while it trains
            self.session.status(event.note[0].upper() + event.note[1:])

    def _on_preparing(self, event: Preparing) -> None:
        """Decoding a folder into the cache, or running the frozen layers once: files done, rate, time left."""
        what = "Decoding the images" if event.stage == "decoding" else "Computing the frozen layers' features"
        if event.from_cache:
            text, eta = f"{what}: read back from the cache", ""
        else:
            rate = f" · {event.rate:,.0f}/s" if finite(event.rate) and event.rate > 0 else ""
            text = f"{what} {event.done:,}/{event.total:,}{rate}"
            eta = f"{format_seconds(event.seconds_left)} left" if finite(event.seconds_left) else ""
        if event.skipped:
            text += f" · {event.skipped} unreadable"
        if self.session.training.status == "stopping":
            self._set(fraction=event.fraction)
            return
        self._set(status="extracting", fraction=event.fraction, text=self.session.training.run_note + text, eta=eta)

    def _on_batch(self, event: BatchEnd) -> None:
        # The batches since the last event, not Keras's running epoch mean (which lags, then drops
        # at every new epoch and draws a saw-tooth).
        loss = event.recent_loss if math.isfinite(event.recent_loss) else event.loss
        accuracy = event.recent_accuracy if math.isfinite(event.recent_accuracy) else event.accuracy
        self.curves.add_batch(event.epoch, event.step, event.steps, loss, accuracy, event.elapsed_seconds)
        self._progress(
            event.epoch,
            (event.step + 1) / max(1, event.steps),
            event.seconds,
            f"{self.session.training.stage_note}batch {event.step + 1}/{event.steps}",
        )

    def _on_epoch(self, event: EpochEnd) -> None:
        self.curves.add_epoch(event, epoch_summary(event))

    def _on_resumed(self, event: Resumed) -> None:
        """Going on from a checkpoint: the epochs before it are drawn first, the new ones follow."""
        self.curves.add_history(list(event.history))
        note = f" ({event.note})" if event.note else ""
        self.session.status(
            f"Going on at epoch {event.from_epoch + 1}/{event.epochs}: the {event.from_epoch} epochs "
            f"before are kept{note}",
            10000,
        )
        self._origin = None

    def _on_paused(self, event: Paused) -> None:
        if self.session.training.status != "stopping":
            self._set(
                status="paused",
                eta="",
                text=f"Paused · epoch {event.epoch + 1}, batch {event.step + 1}",
                tooltip=f"Paused after batch {event.step + 1} of epoch {event.epoch + 1}, everything in memory: "
                "Resume goes on exactly there; Stop saves the run (it can be resumed later)",
            )

    def _on_continued(self, event: Continued) -> None:
        self._origin = None
        if self.session.training.status in ("paused", "pausing"):
            self._set(status="running", tooltip="")

    def _on_stage(self, event: StageChanged) -> None:
        self.curves.add_stage(event.epoch, event.description)
        self._set(stage_note=f"stage {event.stage}, lr {event.learning_rate:g} · ")
        self.session.say(
            f"Stage {event.stage}: {event.description} ({event.trainable_params:,} trainable parameters)",
            "info",
            topic="training",
        )
        self.session.status(
            f"Stage {event.stage} from epoch {event.epoch + 1}: learning rate "
            f"{event.learning_rate:g}, {event.trainable_params:,} trainable parameters"
        )

    def _on_finished(self, event: Finished) -> None:
        metrics = event.metrics
        acc = metrics.val_accuracy
        acc_text = f"val accuracy {acc:.1%}" if finite(acc) else "no validation accuracy"
        short_acc = f"val acc {acc:.1%}" if finite(acc) else "no val acc"
        if finite(getattr(metrics, "reconstruction_error", None)):  # an autoencoder: no accuracy
            acc_text = (
                f"reconstruction error {metrics.reconstruction_error:.4f} "
                f"(the noisy inputs' own {metrics.noisy_input_error:.4f})"
            )
            short_acc = f"error {metrics.reconstruction_error:.4f}"
        errors = (
            f" · {metrics.misclassified_count} errors / {metrics.val_count}"
            if metrics.val_count and not finite(getattr(metrics, "reconstruction_error", None))
            else ""
        )
        reached = getattr(metrics, "reached_target", False) and not event.cancelled
        what = (
            "Stopped"
            if event.cancelled
            else "Reached the target accuracy"
            if reached
            else ("Stopped early (no more improvement)" if event.stopped_early else "Finished")
        )
        short = (
            "Stopped"
            if event.cancelled
            else "Reached the target"
            if reached
            else ("Stopped early" if event.stopped_early else "Finished")
        )
        epochs = f"{event.epochs_run} epoch{'s' if event.epochs_run != 1 else ''}"
        trained = getattr(metrics, "train_seconds", None)
        if finite(trained):
            epochs += f" ({format_seconds(trained)} of training)"
        between_runs = self._job.queue and not event.cancelled
        self._set(
            status="preparing" if between_runs else "stopped" if event.cancelled else "finished",
            eta="",
            text=self.session.training.run_note + f"{short} · {short_acc}",
            fraction=self.session.training.fraction if event.cancelled else 1.0,
            tooltip=f"{what} after {epochs} · {acc_text}",
        )
        self.session.say(
            f"{what}: {acc_text}{errors}. Saved as run {Path(event.run_dir).name}.",
            "success",
            event.run_dir,
            topic="training",
        )

    def _on_failed(self, event: Failed) -> None:
        title = FAILURE_TITLES.get(event.kind, "Training failed")
        reason = event.reason
        if reason.lower().startswith(title.lower()):  # "Training diverged: training diverged: …"
            reason = reason[len(title) :].lstrip(" :")
        self._set(
            status="preparing" if self._job.queue else "failed",
            fraction=0.0,
            eta="",
            text=self.session.training.run_note + title,
            tooltip=f"{title}: {reason}",
        )
        self.session.say(f"{title}: {reason}", "error", event.run_dir, topic="training")
        log.warning("training failed (%s): %s [run %s]", event.kind, event.reason, event.run_dir)

    def _progress(self, epoch: int, within: float, seconds: float, detail: str) -> None:
        epochs = self._started.epochs if self._started else max(1, self.session.config.config.training.epochs)
        fraction = (epoch + within) / max(1, epochs)
        eta = ""
        if self._origin is None:
            self._origin = (seconds, fraction)
        else:
            t0, f0 = self._origin
            if fraction > f0 and seconds > t0:
                eta = f"{format_seconds((1 - fraction) * (seconds - t0) / (fraction - f0))} left"
        status = self.session.training.status
        if status in ("stopping", "pausing"):
            self._set(fraction=fraction)
            return
        run = self.session.training.run_note
        self._set(status="running", fraction=fraction, text=f"{run}Epoch {epoch + 1}/{epochs} · {detail}", eta=eta)

    # --- the end --------------------------------------------------------------------------------------
    def _on_result(self, result: Any) -> None:
        self._pause = None
        self.session.clear_message("busy")  # "stop the training first" no longer applies
        if self._job.on_result is not None:
            self._job.on_result(result)
        else:
            self._after_training(result)
        self.finished.emit(result)

    def _after_training(self, result: Any) -> None:
        if self.session.training.running:  # the engine reported no Finished/Failed (it always should)
            self._set(status="failed" if result.failed else "finished", text="Training ended")
        dataset = result.dataset if result.dataset is not None else self._dataset
        self._dataset = None
        config = self.session.config.config
        run_dir = str(result.run_dir) if result.run_dir is not None else ""
        title = run_title(run_dir, config.arch.name, config.data.name)
        if result.failed:
            if self._started is not None:  # it trained, then failed: its results are that it failed
                self.current.no_results(f"No results: {result.failed}", run_dir, title)
            return  # it failed before training (its data, a refused config): everything stays as it was
        names = tuple(getattr(dataset, "class_names", ()) or (result.spec.class_names if result.spec else ()))
        note = "Stopped before the planned epochs." if result.cancelled else ""
        self.current.show_results(result.metrics, names, note, dataset, "training", run_dir, title)
        if result.model is not None and result.spec is not None and config.task != "autoencoder" and not self.closing:
            description = f"Model: just trained — {config.arch.name} on {short_name(config.data.name)}"
            self.current.build(
                result.model, result.spec, list(names), run_dir, f"{description} (run {Path(run_dir).name})"
            )

    def _on_crash(self, err: Any) -> None:
        """`train` raised (it should not), or a job refused its input before training (a label check on
        too little data, a fork the config refuses): the curves and results stay as they were."""
        self._pause = None
        self.session.clear_message("busy")
        details = getattr(err, "details", "")
        what = self._job.what
        if details:
            log.error("%s crashed: %s\n%s", what.lower(), err, details)
        reason = str(err) if not details else f"{type(err).__name__}: {err}"
        self._set(status="failed", fraction=0.0, eta="", text=f"{what} failed", tooltip=reason)
        self.session.say(f"{what} failed: {reason}", "error", details, topic="training")
        self._dataset = None
        self.finished.emit(TrainingCrash(err, details))

    def _set(self, **changes: Any) -> None:
        self.session.update("training", **changes)


def epoch_summary(event: EpochEnd) -> str:
    if event.partial:
        trained = f"after batch {event.batches}/{event.steps}" if event.batches < event.steps else "in its validation"
        return (
            f"Epoch {event.epoch + 1}/{event.epochs} stopped {trained}: not a complete epoch, "
            "so it has no validation figures"
        )
    parts = [f"Epoch {event.epoch + 1}/{event.epochs}", f"loss {event.loss:.4f}"]
    if finite(event.accuracy):  # an autoencoder has none: its loss is the reconstruction error
        parts.append(f"accuracy {event.accuracy:.1%}")
    if finite(event.val_loss):
        parts.append(
            f"val loss {event.val_loss:.4f}" if finite(event.val_accuracy) else f"<b>val loss {event.val_loss:.4f}</b>"
        )
    if finite(event.val_accuracy):
        parts.append(f"<b>val accuracy {event.val_accuracy:.1%}</b>")
    parts.append(f"{event.seconds:.1f} s")
    return " · ".join(parts)
