"""A run's checkpoints (issue 12): `Checkpoint`, `list_checkpoints(run_dir)`,
`latest_checkpoint(run_dir)`, `checkpoint_at(run_dir, epoch)`, and reading and writing them.

The implementation is `engine.checkpoint_files`, which imports no TensorFlow (front ends look at
checkpoints before it starts); this module gives it its place in the training package.
"""
from engine.checkpoint_files import (
    FOLDER,
    Checkpoint,
    TrainingState,
    checkpoint_at,
    file_for,
    latest_checkpoint,
    list_checkpoints,
    prune,
    read_checkpoint,
    read_meta,
    write_checkpoint,
)

__all__ = ["FOLDER", "Checkpoint", "TrainingState", "checkpoint_at", "file_for", "latest_checkpoint",
           "list_checkpoints", "prune", "read_checkpoint", "read_meta", "write_checkpoint"]
