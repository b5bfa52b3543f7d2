"""The loss an architecture declares (`ArchInfo.loss`), as Keras takes it: the trainer's hook.

Softmax classifiers train with sparse categorical cross-entropy; CapsNet with its margin loss
(engine.architectures.capsnet.MarginLoss), which reads capsule lengths. Autoencoders train in
engine.training.autoencoder and never come here.
"""

from __future__ import annotations

from typing import Any

from engine.core.errors import ConfigError


def loss_for(arch_name: str) -> Any:
    """What `model.compile(loss=...)` gets for the architecture `arch_name`."""
    from engine.architectures import get_architecture

    declared = get_architecture(arch_name).loss
    if declared == "margin":
        from engine.architectures.capsnet import MarginLoss

        return MarginLoss()
    if declared == "reconstruction":
        raise ConfigError(f"{arch_name} is an autoencoder: train it with task autoencoder (--task autoencoder)")
    return "sparse_categorical_crossentropy"


def is_autoencoder(config: Any) -> bool:
    """Whether `train` hands `config` to engine.training.autoencoder: the task says so, or the
    architecture is an autoencoder (which then refuses a classification task, clearly)."""
    from engine.architectures import get_architecture
    from engine.core.errors import ArchitectureError

    if config.task == "autoencoder":
        return True
    try:
        return get_architecture(config.arch.name).kind == "autoencoder"
    except ArchitectureError:  # the classification trainer says so, as a failed run
        return False
