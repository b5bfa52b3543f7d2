"""How a training that raised is reported: one reason and one kind for `Failed` and the result.

Shared by the classifier trainer and the autoencoder trainer, so both name the same faults the
same way (the window and the CLI branch on the kind: "nan", "oom", "data", "config", "error").
"""

from __future__ import annotations

import tensorflow as tf

from engine.core.errors import LayerLabError


class TrainingFailure(Exception):
    """A failure the trainer itself diagnosed (divergence, mismatched cached features...)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


def failure_of(err: BaseException) -> tuple[str, str]:
    """(reason, kind) for anything a training raised; a fault inside Keras/TF keeps its first line."""

    if isinstance(err, TrainingFailure):
        return str(err), err.kind
    if isinstance(err, LayerLabError):
        return str(err), "data" if "Dataset" in type(err).__name__ else "config"
    if isinstance(err, tf.errors.ResourceExhaustedError):
        return "out of memory: try a smaller batch size or smaller images", "oom"
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}"[:500], "error"
