"""The lessons' own work: an ImageNet network as published, and what a lesson measured."""

from __future__ import annotations

from typing import Any

from engine import lesson_result
from gui.engine_startup import load_engine
from gui.tasks import Task


def imagenet_classifier(task: Task, backbone: str) -> Any:
    """An ImageNet network as published, answering with its 1000 class names (files already in
    Keras's cache; `ArchitectureError` naming what to put where otherwise)."""
    load_engine()
    from engine import ImagenetClassifier  # TensorFlow: only in the worker, once the engine is loaded

    return ImagenetClassifier(backbone)


def lesson_figure(task: Task, lesson: Any, result: Any) -> str:
    """What a lesson's run or grid measured, in the words of `layerlab-cli lesson`
    (`engine.lesson_result`), comparable to `lesson.published`."""
    return lesson_result(lesson, result).figure
