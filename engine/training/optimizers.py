"""The optimizer a config asks for, made in one place (training and the learning-rate finder)."""

from __future__ import annotations

from typing import Any

import keras

from engine.config import TrainingOptions


def make_optimizer(options: TrainingOptions, learning_rate: float) -> Any:

    if options.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=options.momentum)
    if options.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    return keras.optimizers.Adam(learning_rate)
