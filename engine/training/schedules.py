"""Learning-rate schedules, one rate per epoch: constant, step decay, cosine, one-cycle, with an
optional linear warm-up.

The rate of an epoch is a pure function of its place in its stage (`learning_rate_at`), so a
resumed or forked run needs no scheduler state: the epoch number says it all, and the history
records the rate each epoch ran at (`EpochRecord.learning_rate`). Each stage of a staged
fine-tuning runs the schedule again over its own epochs from its own base rate (stage 2's is
`learning_rate × stage2_lr_factor`), as a new `compile` would.

Per epoch by default: the rate is constant within an epoch, which is what the curves draw and
what a test can check; one-cycle is the per-epoch version of Smith's policy (a rise over the
first 30 % of the epochs from base/25, then a cosine fall to base/10⁴; momentum is not cycled).
With `schedule_per: batch` the same curves are followed continuously, the rate moving on every
batch (`learning_rate_along`): what a run of a few epochs needs, since per epoch a three-epoch
one-cycle would end at half its peak. The position is still a pure function of (epoch, batch).
"""

from __future__ import annotations

import math
from typing import Any

import keras

from engine.config import TrainingOptions

ONE_CYCLE_RISE = 0.3  # share of the epochs spent rising to the peak
ONE_CYCLE_START_DIV = 25.0  # first rate: base / 25 (fastai's div)
ONE_CYCLE_END_DIV = 1e4  # last rate tends to base / 10⁴ (fastai's div_final / div)


def learning_rate_at(epoch: int, epochs: int, base: float, options: TrainingOptions) -> float:
    """The rate of epoch `epoch` (0-based, counted within its stage) of a stage of `epochs` epochs.

    Warm-up: epoch e < W runs at base × (e + 1) / (W + 1); the schedule then runs over the
    remaining epochs, t = e − W of T = epochs − W:
    constant base; step base × step_factor ** ⌊t / step_every⌋; cosine base × (1 + cos(π t / T)) / 2;
    one_cycle: rises linearly from base/25 to base over the first 30 % of T, then falls as a
    cosine towards base/10⁴.
    """
    warmup = min(options.warmup_epochs, max(0, epochs - 1))
    if epoch < warmup:
        return base * (epoch + 1) / (warmup + 1)
    t, span = epoch - warmup, max(1, epochs - warmup)
    if options.schedule == "step":
        return base * options.step_factor ** (t // options.step_every)
    if options.schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * t / span))
    if options.schedule == "one_cycle":
        return _one_cycle(t, span, base)
    return base


def _one_cycle(t: int, span: int, base: float) -> float:
    rise = max(1, round(ONE_CYCLE_RISE * span))
    low = base / ONE_CYCLE_START_DIV
    if t < rise:
        return low + (base - low) * t / rise
    end = base / ONE_CYCLE_END_DIV
    fall = max(1, span - rise)
    return end + (base - end) * 0.5 * (1.0 + math.cos(math.pi * (t - rise) / fall))


def learning_rate_along(position: float, epochs: int, base: float, options: TrainingOptions) -> float:
    """The rate at `position` epochs into a stage of `epochs` (0 ≤ position ≤ epochs), the
    schedules made continuous: warm-up rises linearly from 0 to base over its epochs; then over
    t = position − W of T = epochs − W: constant; step base × step_factor ** ⌊t / step_every⌋;
    cosine base × (1 + cos(π t / T)) / 2; one_cycle from base/25 up to base over 30 % of T, then a
    cosine fall to base/10⁴ at the end."""
    warmup = min(float(options.warmup_epochs), max(0.0, epochs - 1.0))
    if position < warmup:
        return base * max(position, 1e-3) / warmup
    t, span = position - warmup, max(1e-9, epochs - warmup)
    if options.schedule == "step":
        return base * options.step_factor ** int(t // options.step_every)
    if options.schedule == "cosine":
        return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t / span)))
    if options.schedule == "one_cycle":
        rise = ONE_CYCLE_RISE * span
        low, end = base / ONE_CYCLE_START_DIV, base / ONE_CYCLE_END_DIV
        if t < rise:
            return low + (base - low) * t / rise
        return end + (base - end) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (t - rise) / (span - rise))))
    return base


def schedule_callback(first_epoch: int, epochs: int, base: float, options: TrainingOptions, steps: int = 1) -> Any:
    """A Keras callback setting the optimizer's rate at the start of every epoch of a stage that
    begins at (absolute) epoch `first_epoch` (`schedule_per: batch`: before every call of the
    training step, from the batch's place among the epoch's `steps`)."""
    per_batch = options.schedule_per == "batch" and options.schedule != "constant"

    class _Schedule(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._epoch = epoch - first_epoch
            if per_batch:
                rate = learning_rate_along(self._epoch, epochs, base, options)
            else:
                rate = learning_rate_at(self._epoch, epochs, base, options)
            self.model.optimizer.learning_rate = rate

    class _BatchSchedule(_Schedule):  # a batch hook only where it has work: none per batch otherwise
        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            if batch:
                position = self._epoch + batch / max(1, steps)
                self.model.optimizer.learning_rate = learning_rate_along(position, epochs, base, options)

    return _BatchSchedule() if per_batch else _Schedule()


def current_learning_rate(model: Any) -> float | None:
    """The optimizer's rate now (None when it cannot be read, e.g. no optimizer)."""
    try:
        return float(model.optimizer.learning_rate.numpy())
    except (AttributeError, TypeError, ValueError):
        return None
