"""The learning-rate finder (Leslie Smith's range test, as fastai runs it): train a copy of the
configured model for a few batches while the rate grows exponentially from `start` to `end`,
record the smoothed loss at each rate, and suggest a rate a little below the one where the loss
was lowest.

The sweep builds its own model from the config (same architecture, freezing, `init_from`
weights, optimizer, batch size, augmentation), so nothing the caller holds changes: not the
config, not a model in the window. It stops early once the loss explodes (four times its best,
or not finite). The loss curve is an exponential moving average with bias correction (β = 0.98,
as fastai), so single noisy batches do not decide the suggestion.

Suggestion: the rate at the minimum of the smoothed loss, divided by 10 (fastai's `lr_min`):
the loss is still falling fast there, and a tenth of the rate where it stops falling leaves a
margin for the rest of training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import keras

from engine.config import ExperimentConfig
from engine.core.cancel import Cancelled, CancelToken
from engine.core.errors import ConfigError
from engine.core.events import LrProbe, Observer, ignore
from engine.datasets import load_dataset
from engine.runtime.graphs import forget_custom_gradients
from engine.training.augmentation import augment_dataset
from engine.training.optimizers import make_optimizer
from engine.training.setup import model_for_training, precision_policy
from engine.training.tasks import loss_for, task_for

SMOOTHING = 0.98
EXPLODES_AT = 4.0
SUGGESTION_DIVISOR = 10.0


@dataclass(frozen=True)
class LrSweep:
    lrs: list[float]
    losses: list[float]  # smoothed
    suggested_lr: float
    stopped_early: bool = False  # the loss exploded before `end`
    raw_losses: tuple[float, ...] = ()


def find_learning_rate(
    config: ExperimentConfig,
    *,
    dataset: Any = None,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 100,
    observer: Observer | None = None,
    cancel: CancelToken | None = None,
) -> LrSweep:
    """Sweep the rate from `start` to `end` over `steps` batches; see the module docstring.
    `ConfigError` for a bad range or an autoencoder (it sweeps classifiers); `Cancelled` when
    cancelled."""
    if not (0 < start < end) or steps < 5:
        raise ConfigError("the learning-rate sweep needs 0 < start < end and at least 5 steps")
    if task_for(config).name != "classification":
        raise ConfigError("the learning-rate finder sweeps classifiers; train an autoencoder with a chosen rate")
    observer, cancel = observer or ignore, cancel or CancelToken()
    with forget_custom_gradients(), precision_policy(config):
        model, batches = _prepare(config, dataset)
        return _sweep(model, batches, start, end, steps, observer, cancel)


def _prepare(config: ExperimentConfig, dataset: Any) -> tuple[Any, Any]:
    """A fresh model as training would build it, compiled, and endless training batches."""
    t = config.training
    keras.utils.set_random_seed(t.seed)
    if dataset is None:
        dataset = load_dataset(config.data, seed=t.seed)
    model, _ = model_for_training(config, dataset)
    model.compile(optimizer=make_optimizer(t, t.learning_rate), loss=loss_for(config.arch.name), jit_compile=t.xla)
    batches = augment_dataset(
        dataset.tf_dataset("train", t.batch_size, shuffle=True, seed=t.seed), config.augmentation, t.seed
    ).repeat()
    return model, batches


def _sweep(
    model: Any, batches: Any, start: float, end: float, steps: int, observer: Observer, cancel: CancelToken
) -> LrSweep:
    lrs: list[float] = []
    smoothed: list[float] = []
    raw: list[float] = []
    average, best = 0.0, math.inf
    exploded = False
    for step, (x, y) in enumerate(batches.take(steps)):
        if cancel.cancelled:
            raise Cancelled("the learning-rate sweep was stopped")
        lr = start * (end / start) ** (step / (steps - 1))
        model.optimizer.learning_rate = lr
        loss = float(model.train_on_batch(x, y))
        if not math.isfinite(loss):
            exploded = True
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * loss
        value = average / (1 - SMOOTHING ** (step + 1))
        lrs.append(lr)
        smoothed.append(value)
        raw.append(loss)
        best = min(best, value)
        observer(LrProbe(step, steps, lr, value))
        if value > EXPLODES_AT * best:
            exploded = True
            break
    if not lrs:
        raise ConfigError("the learning-rate sweep diverged at once: lower its start")
    lowest = min(range(len(smoothed)), key=smoothed.__getitem__)
    return LrSweep(lrs, smoothed, lrs[lowest] / SUGGESTION_DIVISOR, exploded, tuple(raw))
