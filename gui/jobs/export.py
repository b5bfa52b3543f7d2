"""A verified export of a run's model."""

from __future__ import annotations

from typing import Any

from engine import check_export
from gui.engine_startup import load_engine
from gui.tasks import Task


def export(task: Task, run_dir: str, fmt: str, out: str, quantize: str | None, samples: int = 200) -> Any:
    """A verified export (`engine.ExportReport`); `ExportError` when it fails or disagrees."""
    check_export(run_dir, fmt, out, quantize)  # an extra that is missing says so before TensorFlow loads
    load_engine()
    from engine import export_run  # TensorFlow: only in the worker, once the engine is loaded

    return export_run(run_dir, fmt, out, quantize=quantize, samples=samples, cancel=task.cancel_token)
