"""The one Keras callback LayerLab adds to `fit`: events, cancellation and divergence; and the
throttled `Preparing` events of the work before the epochs.

Cheap by design: on the TensorFlow backend Keras already turns each batch's logs into Python
floats before calling callbacks, so reading them costs no extra device sync; we only decide
whether enough time passed to emit a `BatchEnd` (at most ~10 per second).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import keras

from engine.core.cancel import CancelToken
from engine.core.events import BatchEnd, EpochEnd, Observer, Preparing
from engine.core.records import EpochRecord
from engine.training.schedules import current_learning_rate

BATCH_EVENT_INTERVAL_S = 0.1


class PreparingReporter:
    """Called with (done, total, decoded, skipped) as images are decoded or features extracted;
    emits a `Preparing` event at most every `BATCH_EVENT_INTERVAL_S`, and always the last one."""

    def __init__(self, observer: Observer, stage: str) -> None:
        self.observer = observer
        self.stage = stage
        self.t0 = time.perf_counter()
        self._last = -math.inf

    def __call__(self, done: int, total: int, decoded: int, skipped: int) -> None:
        now = time.perf_counter()
        if done < total and now - self._last < BATCH_EVENT_INTERVAL_S:
            return
        self._last = now
        self.observer(Preparing(self.stage, done, total, now - self.t0, decoded, skipped))  # type: ignore[arg-type]


class _RunningSums:
    """Turns Keras's running epoch means into means over the batches since the last event.

    After n batches Keras logs the mean m_n, so batches (k, n] sum to n·m_n − k·m_k: exact for
    equal batch sizes (all but an epoch's last batch), with no extra work on the device.
    """

    def __init__(self) -> None:
        self.batches = 0
        self.loss_sum = 0.0
        self.accuracy_sum = 0.0

    def advance(self, batches: int, loss_mean: float, accuracy_mean: float) -> tuple[float, float]:
        span = batches - self.batches
        loss_sum, accuracy_sum = loss_mean * batches, accuracy_mean * batches
        recent = (
            ((loss_sum - self.loss_sum) / span, (accuracy_sum - self.accuracy_sum) / span)
            if span > 0
            else (loss_mean, accuracy_mean)
        )
        self.batches, self.loss_sum, self.accuracy_sum = batches, loss_sum, accuracy_sum
        return recent


class EngineCallback(keras.callbacks.Callback):
    def __init__(
        self,
        observer: Observer,
        cancel: CancelToken,
        *,
        steps: int,
        epochs: int,
        stage: int,
        t0: float,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        elapsed_before: float = 0.0,
        paused_seconds: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """`elapsed_before`: seconds of training before this `fit` (earlier stages, the run a
        resume goes on with); `paused_seconds`: the time held by Pause so far (not training)."""
        super().__init__()
        self.observer = observer
        self.cancel = cancel
        self.steps = steps
        self.epochs = epochs
        self.stage = stage
        self.t0 = t0
        self.on_epoch = on_epoch
        self.diverged: str | None = None
        self.history: list[EpochRecord] = []
        self._epoch = 0
        self._epoch_t0 = t0
        self.elapsed = elapsed_before
        self._paused = paused_seconds
        self._paused_at_start = 0.0
        self._last_emit = 0.0
        self._emitted = _RunningSums()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch
        self._epoch_t0 = time.perf_counter()
        self._paused_at_start = self._paused()
        self._emitted = _RunningSums()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.diverged = f"the loss became {loss} at epoch {self._epoch + 1}, batch {batch + 1}"
            self.model.stop_training = True
            return
        now = time.perf_counter()
        if now - self._last_emit >= BATCH_EVENT_INTERVAL_S or batch + 1 == self.steps:
            self._last_emit = now
            loss, accuracy = (
                float(loss or 0.0),
                float(logs.get("accuracy", math.nan)),
            )  # NaN: no accuracy (an autoencoder)
            recent_loss, recent_accuracy = self._emitted.advance(batch + 1, loss, accuracy)
            held = self._paused() - self._paused_at_start
            elapsed = self.elapsed + max(0.0, now - self._epoch_t0 - held)
            self.observer(
                BatchEnd(
                    self._epoch,
                    batch,
                    self.steps,
                    loss,
                    accuracy,
                    now - self.t0,
                    recent_loss,
                    recent_accuracy,
                    elapsed,
                )
            )
        if self.cancel.cancelled:
            self.model.stop_training = True

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.cancel.cancelled or self.diverged:
            self.model.stop_evaluating = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.diverged:
            return
        if not math.isfinite(logs.get("loss", 0.0)):
            self.diverged = f"the loss became {logs.get('loss')} at epoch {epoch + 1}"
            self.model.stop_training = True
            return
        # Without validation data Keras logs no val_* figures: NaN in the event, null in the file.
        figures = {key: float(logs.get(key, math.nan)) for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
        seconds = time.perf_counter() - self._epoch_t0
        self.elapsed += max(0.0, seconds - (self._paused() - self._paused_at_start))
        rate = current_learning_rate(self.model)
        entry = EpochRecord(
            epoch=epoch,
            seconds=seconds,
            stage=self.stage,
            partial=self.cancel.cancelled,
            learning_rate=rate,
            elapsed_seconds=round(self.elapsed, 4),
            **figures,
        )
        self.history.append(entry)
        if self.on_epoch is not None:
            self.on_epoch(entry)
        self.observer(
            EpochEnd(
                epoch,
                self.epochs,
                figures["loss"],
                figures["accuracy"],
                figures["val_loss"],
                figures["val_accuracy"],
                seconds,
                self.stage,
                rate,
                self.elapsed,
            )
        )


class TargetStop(keras.callbacks.Callback):
    """Ends `fit` after the first epoch whose validation accuracy reaches `target` (a finished
    run, not a stopped one: its model is evaluated and saved as at the planned end)."""

    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = target
        self.reached_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        accuracy = (logs or {}).get("val_accuracy")
        if accuracy is not None and math.isfinite(accuracy) and accuracy >= self.target:
            self.reached_epoch = epoch
            self.model.stop_training = True
