"""The layer table of the model the settings describe."""

from __future__ import annotations

from typing import Any

from engine import ArchOptions
from gui.engine_startup import load_engine
from gui.tasks import Task


def inspect_model(
    task: Task,
    inspector: Any,
    arch: ArchOptions,
    input_shape: tuple[int, int, int],
    num_classes: int,
    layer_trainable: dict[str, bool],
    freeze_all_but: int | None,
) -> Any:
    """`engine.ModelInspector.inspect` (an `engine.Inspection`): the model built (or reused while
    only freezing changes) and frozen as training would. `inspector` is the inspect controller's,
    used on the engine lane only."""
    load_engine()
    task.check()
    return inspector.inspect(arch, input_shape, num_classes, layer_trainable, freeze_all_but)
