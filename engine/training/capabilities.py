"""What each task can do, cheap to ask (no TensorFlow), so a front end offers only what works.

Every option of `train` (pause, resume, start_from, the feature cache, the memory budget) is
honoured by every task (one trainer: engine.training.trainer). The rest of what a front end can
do with a run depends on what the model answers: a classifier names classes, an autoencoder gives
back an image.
"""

from __future__ import annotations

from typing import Literal

Capability = Literal[
    "pause",  # hold after a batch, go on from there
    "resume",  # go on with a stopped run from its last complete epoch; continue; fork
    "lr_finder",  # the learning-rate sweep
    "classify",  # top-k answers for an image, explanations, errors, the map
    "label_issues",  # cross-validated search for wrong labels
    "export",  # a verified export (agreement of the top answer)
    "reconstruct",  # an image back from the model
]

TASK_CAPABILITIES: dict[str, frozenset[str]] = {
    "classification": frozenset({"pause", "resume", "lr_finder", "classify", "label_issues", "export"}),
    "autoencoder": frozenset({"pause", "resume", "reconstruct"}),
}


def task_supports(task: str, capability: Capability) -> bool:
    """Whether runs of `task` ("classification" or "autoencoder") can do `capability`."""
    return capability in TASK_CAPABILITIES.get(task, frozenset())
