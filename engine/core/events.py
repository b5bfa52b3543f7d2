"""Training events: immutable records of plain Python numbers, safe to pass between threads.

The trainer calls `observer(event)` from the thread it runs in; the CLI prints them, the window
re-emits them as queued Qt signals. None of them holds a tensor or a reference to the model;
`Finished.metrics` is a frozen `RunMetrics` that nobody changes after it is emitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from engine.core.records import RunMetrics


@dataclass(frozen=True)
class Started:
    run_dir: str
    epochs: int  # total, all stages
    steps_per_epoch: int
    samples_train: int
    samples_val: int
    device: str  # "CPU" or the GPU's name
    trainable_params: int
    total_params: int
    feature_cache: bool  # training the head on cached features of a frozen prefix
    note: str = ""  # e.g. why the feature cache was not used
    num_classes: int = 0  # classes of the data (0: a task without classes, an autoencoder)


@dataclass(frozen=True)
class Preparing:
    """Work before the epochs, at most ~10 per second, the last one with `done == total`.

    "decoding": a class folder's images decoded into the disk cache (training end to end);
    "extracting": the frozen layers run once over the data (images decoded on the way, or read
    from the cache: `decoded` says how many were decoded). `skipped` counts the files found
    unreadable so far (they are in `dataset.skipped`). Emitted after `Started`; Stop works here.
    """

    stage: Literal["decoding", "extracting"]
    done: int  # images handled so far (including skipped ones)
    total: int
    seconds: float  # since this stage began
    decoded: int = 0  # of `done`, how many were decoded now (not read from a cache)
    skipped: int = 0
    from_cache: bool = False  # the whole stage was answered by a cache (nothing computed)

    @property
    def rate(self) -> float:
        """Images per second so far (0 until there is a figure)."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float:
        """Estimated time left in this stage (NaN until there is a rate)."""
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else math.nan

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class BatchEnd:
    """Progress inside an epoch (at most ~10 per second).

    `loss` and `accuracy` are Keras's running means since the epoch began: they lag and jump at
    each new epoch. `recent_loss` and `recent_accuracy` are the means over just the batches since
    the previous `BatchEnd` of the epoch: what a per-batch curve should draw.
    """

    epoch: int  # 0-based
    step: int  # 0-based batch index in the epoch
    steps: int
    loss: float
    accuracy: float
    seconds: float  # since training started
    recent_loss: float = float("nan")
    recent_accuracy: float = float("nan")
    elapsed_seconds: float = float("nan")  # seconds of training so far (EpochRecord.elapsed_seconds' clock)


@dataclass(frozen=True)
class EpochEnd:
    epoch: int  # 0-based
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float  # this epoch's duration
    stage: int = 1
    learning_rate: float | None = None  # the rate in force during this epoch (schedules: see TrainingOptions)
    elapsed_seconds: float = float("nan")  # seconds of training at this epoch's end (EpochRecord.elapsed_seconds)
    # Stopped before its end (Stop pressed): only `batches` of `steps` trained, or its validation
    # cut short. Such an epoch has no validation figures (NaN): it is not a complete epoch.
    partial: bool = False
    batches: int = 0
    steps: int = 0


@dataclass(frozen=True)
class StageChanged:
    """Staged fine-tuning moved on: the plots mark where."""

    stage: int
    epoch: int  # first epoch of the new stage (0-based, counted over all stages)
    learning_rate: float
    trainable_params: int
    description: str


@dataclass(frozen=True)
class Finished:
    run_dir: str
    epochs_run: int
    cancelled: bool
    stopped_early: bool
    metrics: RunMetrics = field(default_factory=RunMetrics)


@dataclass(frozen=True)
class Failed:
    reason: str  # one readable line
    kind: str = "error"  # "nan", "oom", "data", "config", "error"
    run_dir: str = ""


@dataclass(frozen=True)
class Paused:
    """The training holds after this batch (`PauseToken.pause()`); everything stays in memory."""

    epoch: int  # 0-based
    step: int  # 0-based batch index of the last batch done


@dataclass(frozen=True)
class Continued:
    """The training goes on after a pause (`PauseToken.resume()`)."""

    paused_seconds: float = 0.0


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint of a finished epoch was written (engine.training.checkpoints)."""

    epoch: int  # 0-based: the last complete epoch it holds
    path: str
    best: bool  # the best validation loss among the run's checkpoints


@dataclass(frozen=True)
class Resumed:
    """This training continues from a checkpoint (resume, continue or fork): the curves go on at
    `from_epoch`; `history` holds the epochs before it (also in the run's history.json)."""

    from_epoch: int  # 0-based: the first epoch this training runs
    epochs: int  # total planned epochs, all stages
    history: tuple = ()  # EpochRecord of epochs 0 .. from_epoch - 1
    note: str = ""  # e.g. "fresh optimizer state: the trainable layers changed"


@dataclass(frozen=True)
class LrProbe:
    """One step of the learning-rate finder (engine.training.lr_finder)."""

    step: int  # 0-based
    steps: int
    lr: float
    loss: float  # smoothed (what the curve draws)


Event = (
    Started
    | Preparing
    | BatchEnd
    | EpochEnd
    | StageChanged
    | Finished
    | Failed
    | Paused
    | Continued
    | CheckpointSaved
    | Resumed
    | LrProbe
)
Observer = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The observer used when nobody listens."""
