"""Starting the engine, and what the device holds."""

from __future__ import annotations

from gui.engine_startup import EngineInfo, load_engine
from gui.tasks import Task


def start_engine(task: Task) -> EngineInfo:
    return load_engine()


def gpu_memory(task: Task) -> tuple[float | None]:
    """(MiB TensorFlow holds on the first GPU now,), (None,) on the CPU."""
    load_engine()
    from engine import gpu_memory_mb  # TensorFlow: only in the worker, once the engine is loaded

    return (gpu_memory_mb(),)
