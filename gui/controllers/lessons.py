"""The classic lessons (engine.lessons) as one-click recipes in the window.

Choosing a lesson sets the config (and, for a comparison, the Grid tab's plan) from the recipe
and shows its note and the published figure on the lesson card; the user's own settings and grid
plan are kept aside, and closing the lesson brings them back (so do closing the window and
opening another lesson only once: what is kept is what the user had before the first lesson). The
lesson's runs carry its name in their config (`lesson`), so the Runs tab marks them; Run starts the ordinary
training or grid through their controllers, so Train, Stop and the Grid's Run work as usual
afterwards. A lesson whose data is not on disk changes nothing until the learner runs it on the
embedded digits or generated shapes instead (the card then says the published figure does not
apply). When the run ends, the card shows the learner's figure beside the published one. The
ImageNet lesson trains nothing: it puts the chosen network, as published, in
`session.classifier`, so dropped photos get its top 5 of 1000 classes. A lesson whose network has a
fast recipe can also be run fast: the same network, its training settings filled by the fast recipe
(visible in the Training tab), and the card says which recipe the figure is of.
"""

from __future__ import annotations

from typing import Any, Protocol

from psygnal import Signal

from engine import (
    LayerLabError,
    fallback_lesson,
    get_lesson,
    lesson_available,
    lesson_recipe,
    list_lessons,
    offers_fast_recipe,
)
from gui.controllers.current import CurrentModelController
from gui.controllers.grid import GridController
from gui.controllers.training import TrainingController, TrainingCrash
from gui.jobs import lessons as lessons_jobs
from gui.session import LessonState, Session
from gui.tasks import TaskRunner

IMAGENET_TOP_K = 5


class LessonView(Protocol):
    def show_lesson(self, state: LessonState) -> None: ...


def lesson_titles() -> list[tuple[str, str, str]]:
    """(name, title, note) of every lesson, for the Lessons menu (no TensorFlow imported)."""
    return [(lesson.name, lesson.title, lesson.note) for lesson in list_lessons()]


class LessonsController:
    finished = Signal(object)  # the LessonState once its figure is known

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        training: TrainingController,
        grid: GridController,
        view: LessonView,
        current: CurrentModelController | None = None,
    ) -> None:
        self.session = session
        self.current = current or training.current
        self.training = training
        self.grid = grid
        self.view = view
        self._lesson: Any = None  # engine.lessons.Lesson as set up (its fallback when chosen; fast when run fast)
        self._textbook: Any = None  # the same lesson with its own (textbook) settings
        self._kept: tuple[Any, Any] | None = None  # the user's (config, grid plan) while a lesson has its own
        self._figure = runner.slot("lesson-figure", "io")
        self._network = runner.slot("imagenet-network", "engine")
        session.events.lesson.connect(view.show_lesson)
        training.finished.connect(self._on_training_finished)
        grid.finished.connect(self._on_grid_finished)
        view.show_lesson(session.lesson)

    # --- intent ---------------------------------------------------------------------------------------
    def choose(self, name: str) -> None:
        """Set up the lesson `name`: its recipe when its files are here, else only its card."""
        if self.session.training.running:
            self.session.say("Stop the training before choosing a lesson.", "info", topic="busy")
            return
        lesson = get_lesson(name)
        self._lesson = lesson
        self._textbook = lesson
        network = lesson.base_config.arch.name if lesson.kind == "imagenet" else ""
        ok, missing = lesson_available(lesson) if lesson.kind != "imagenet" else self._network_available(network)
        self.session.update(
            "lesson",
            name=lesson.name,
            title=lesson.title,
            note=lesson.note,
            published=lesson.published,
            kind=lesson.kind,
            status="ready" if ok else "unavailable",
            missing=missing,
            fallback=lesson.fallback or "",
            fallback_note="",
            figure="",
            network=network,
            fast=offers_fast_recipe(lesson),
            recipe="textbook",
        )
        if ok and lesson.kind != "imagenet":
            self._apply(lesson)
        self.session.clear_message("lesson")

    def use_fallback(self) -> None:
        """Set the chosen lesson up on its fallback data (digits or shapes)."""
        state = self.session.lesson
        if not state.name or not state.fallback:
            return
        try:
            lesson, note = fallback_lesson(get_lesson(state.name))
        except LayerLabError as err:
            self.session.say(f"Lesson: {err}", "warning", topic="lesson")
            return
        self._lesson = self._textbook = lesson
        self._apply(lesson)
        self.session.update("lesson", status="ready", fallback_note=note, figure="", recipe="textbook")

    def run_fallback(self) -> None:
        self.use_fallback()
        self.run()

    def choose_network(self, network: str) -> None:
        """The ImageNet lesson's network (one of the ImageNet backbones)."""
        state = self.session.lesson
        if state.kind != "imagenet" or network == state.network:
            return
        ok, missing = self._network_available(network)
        self.session.update(
            "lesson", network=network, status="ready" if ok else "unavailable", missing=missing, figure=""
        )

    def run(self, recipe: str = "textbook") -> None:
        """Run the lesson as set up: the grid, the training, or (ImageNet) load the network.
        `recipe` "fast": run it fast (its settings filled by the fast recipe first; "textbook"
        puts the lesson's own settings back when they were)."""
        state = self.session.lesson
        if state.status not in ("ready", "finished", "failed") or self._lesson is None:
            if state.status == "unavailable":
                self.session.say(f"Lesson: {state.missing}", "warning", topic="lesson")
            return
        if state.kind == "imagenet":
            self._load_network(state.network)
            return
        if self.training.running or self.training.busy:
            return
        if recipe != state.recipe and not self._set_recipe(recipe):
            return
        self.session.update("lesson", status="running", figure="")
        if state.kind == "grid":
            self.grid.run()
        else:
            self.training.start()

    def _set_recipe(self, recipe: str) -> bool:
        """Set the lesson up with `recipe` (its settings into the config); False if it has none."""
        if recipe == "fast":
            try:
                lesson, note = lesson_recipe(self._textbook, "fast")
            except LayerLabError as err:
                self.session.say(f"Lesson: {err}", "warning", topic="lesson")
                return False
            self.session.status(note[0].upper() + note[1:], 10000)
        else:
            lesson = self._textbook
        self._lesson = lesson
        self._apply(lesson)
        self.session.update("lesson", recipe=recipe)
        return True

    def close(self) -> None:
        """Close the lesson; the user's own settings (kept aside when it set its own) come back."""
        if self.session.training.running:
            self.session.say("Stop the training before closing the lesson.", "info", topic="busy")
            return
        self._lesson = None
        restored = self.restore_settings()
        self.session.update("lesson", name="", status="idle", kept_aside=False)
        self.session.clear_message("lesson")
        if restored:
            self.session.status("Lesson closed: your own settings are back", 6000)

    def restore_settings(self) -> bool:
        """Put back the settings and grid plan the user had before the lesson (True if there were some)."""
        if self._kept is None:
            return False
        config, plan = self._kept
        self._kept = None
        self.session.config.replace(config)
        self.session.grid_plan.replace(plan)
        return True

    # --- setting up -----------------------------------------------------------------------------------
    def _apply(self, lesson: Any) -> None:
        """The recipe into the config (whole: a lesson starts from LayerLab's defaults, marked as the
        lesson's) and the grid plan; the user's own are kept aside first."""
        if self._kept is None:
            self._kept = (self.session.config.snapshot(), self.session.grid_plan.snapshot())
        self.session.config.replace(lesson.base_config.updated(lesson=lesson.name))
        self.session.update("lesson", kept_aside=True)
        if lesson.grid is not None:
            factors = [{"key": f.key, "values": ", ".join(_level(v) for v in f.values)} for f in lesson.grid.factors]
            self.session.grid_plan.update(factors=factors, repeats=lesson.grid.repeats)

    @staticmethod
    def _network_available(network: str) -> tuple[bool, str]:
        from engine import missing_imagenet_files as missing_files

        missing = missing_files(network)
        return not missing, "; ".join(missing)

    def _load_network(self, network: str) -> None:
        self.session.update("lesson", status="loading")
        self.current.loading(f"Loading {network} as published on ImageNet…")

        def ready(classifier: Any) -> None:
            self.session.preferences.update(top_k=IMAGENET_TOP_K)
            self.current.use(
                classifier, f"{network} (ImageNet)", f"Model: {network} as published — 1 000 ImageNet classes, top 5"
            )
            self.session.update(
                "lesson",
                status="finished",
                figure=f"{network} is ready: drop a photo (or use File → Open images…) to read its top 5",
            )
            self.finished.emit(self.session.lesson)

        def failed(err: Any) -> None:
            self.current.none("No model yet.")
            self.session.update("lesson", status="unavailable", missing=str(err))

        self._network.start(lessons_jobs.imagenet_classifier, network, on_result=ready, on_error=failed)

    # --- the end --------------------------------------------------------------------------------------
    def _on_training_finished(self, result: Any) -> None:
        if self.session.lesson.status != "running" or self.session.lesson.kind == "grid":
            return
        if isinstance(result, TrainingCrash):
            self.session.update("lesson", status="failed", figure=f"failed: {result.error}")
            return
        self._measure(result)

    def _on_grid_finished(self, result: Any) -> None:
        if self.session.lesson.status == "running" and self.session.lesson.kind == "grid":
            self._measure(result)

    def _measure(self, result: Any) -> None:
        def done(figure: str) -> None:
            failed = figure.startswith("failed")
            self.session.update("lesson", status="failed" if failed else "finished", figure=figure)
            self.finished.emit(self.session.lesson)

        self._figure.start(
            lessons_jobs.lesson_figure,
            self._lesson,
            result,
            on_result=done,
            on_error=lambda err: done(f"failed: {err}"),
        )


def _level(value: Any) -> str:
    """A grid level as the Grid tab writes it ("off, on" for booleans)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
