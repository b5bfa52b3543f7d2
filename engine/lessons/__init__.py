"""The classic lessons as one-click recipes.

Each `Lesson` sets up a dataset, an architecture and its options (a single run, a grid of runs
where the lesson is a comparison, an autoencoder, a two-stage fine-tuning, or the ImageNet
networks as they are), with a two-or-three-sentence note on what to look at and the published
figure it reproduces. `run_lesson` runs it through the ordinary engine (`train`, `run_grid`,
`ImagenetClassifier`): every run is an ordinary run folder, every event the usual event, and
the result says what was measured in words comparable to the published figure.

Offline, `lesson_available` says whether the lesson's data and weights are already on disk and,
when not, what to download and where. With `use_fallback=True` a lesson runs on the embedded
digits or the generated shapes instead (ImageNet weights that are missing are then replaced by
random ones), and says that the published figure does not apply.

Cheap to import: TensorFlow loads when a lesson runs.

    from engine.lessons import list_lessons, get_lesson, lesson_available, run_lesson
    lesson = get_lesson("mlp_mnist")
    ok, why = lesson_available(lesson)
    result = run_lesson(lesson, epochs=2, use_fallback=not ok)
    print(result.figure, "— published:", lesson.published)
"""

from __future__ import annotations

from engine.lessons.availability import fallback_lesson, lesson_available
from engine.lessons.catalogue import Lesson, get_lesson, list_lessons
from engine.lessons.runner import LessonResult, LessonRow, run_lesson

__all__ = [
    "Lesson",
    "LessonResult",
    "LessonRow",
    "fallback_lesson",
    "get_lesson",
    "lesson_available",
    "list_lessons",
    "run_lesson",
]
