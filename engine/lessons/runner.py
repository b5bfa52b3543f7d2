"""Running a lesson: the recipe prepared (fallback, epochs, settings), checked before anything
trains, run through the ordinary engine, and summed up in words beside the published figure.

Kinds: "train" (one run), "two_stage" (one run with staged fine-tuning: the figure is before
and after), "grid" (`run_grid`: one row per combination), "autoencoder" (one run: the
reconstruction error against the noisy inputs' own), "imagenet" (no training: photos classified
by `ImagenetClassifier`, top 5 by name).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.architectures import get_architecture
from engine.architectures.weights import ensure_imagenet_weights
from engine.core.cancel import CancelToken
from engine.core.errors import ArchitectureError, ConfigError, DatasetError, LayerLabError
from engine.core.events import Observer, ignore
from engine.datasets import load_dataset
from engine.experiments.grid import GridResult, default_grids_root, settings_label
from engine.experiments.grid_runner import run_grid
from engine.inference.imagenet import ImagenetClassifier
from engine.lessons.availability import _backbone_side, fallback_lesson, missing_for
from engine.lessons.catalogue import Lesson
from engine.runs.folders import read_metrics
from engine.training.recipes import apply_recipe, describe_changes, recipe_changes

if TYPE_CHECKING:
    from engine.training.trainer import TrainResult

SAMPLE_PHOTOS = ("china.jpg", "flower.jpg")  # scikit-learn's two sample photographs
TOP_K = 5


@dataclass(frozen=True)
class LessonRow:
    """One line of a lesson's result: a grid's combination, a stage, or the one run. `figures`
    are means over `run_dirs` (None where not measured): train/val/test accuracy, or for an
    autoencoder reconstruction_error and noisy_input_error."""

    label: str
    run_dirs: list[str]
    figures: dict[str, float | None]


@dataclass(frozen=True)
class LessonResult:
    """What a lesson measured. `figure` is one readable line comparable to `lesson.published`
    (which it reproduces only on the lesson's own data: not when `fallback_used`)."""

    lesson: Lesson
    run_dirs: list[str]
    figure: str
    rows: list[LessonRow] = field(default_factory=list)
    fallback_used: bool = False
    note: str = ""  # e.g. why the published figure does not apply
    grid_dir: str | None = None
    predictions: list[dict[str, Any]] = field(default_factory=list)  # imagenet: {"source", "top"|"error"}
    cancelled: bool = False
    failed: str | None = None

    def to_json(self) -> dict[str, Any]:
        """What `layerlab-cli lesson NAME --json` prints."""
        return {
            "lesson": self.lesson.name,
            "title": self.lesson.title,
            "published": self.lesson.published,
            "figure": self.figure,
            "fallback_used": self.fallback_used,
            "note": self.note,
            "run_dirs": self.run_dirs,
            "rows": [dataclasses.asdict(row) for row in self.rows],
            "grid_dir": self.grid_dir,
            "predictions": self.predictions,
            "cancelled": self.cancelled,
            "failed": self.failed,
        }


# --- preparing ---------------------------------------------------------------------------------
def prepare_lesson(
    lesson: Lesson,
    *,
    epochs: int | None = None,
    use_fallback: bool = False,
    settings: dict[str, Any] | None = None,
    imagenet_weights: bool = False,
    recipe: str = "textbook",
) -> tuple[Lesson, str]:
    """The lesson as it will run, and a note (fallback, weights, recipe): the fallback first, then
    the given settings, then the recipe ("fast": `lesson_recipe`), then `epochs` (each stage's,
    for a two-stage lesson)."""
    note = ""
    if use_fallback:
        lesson, note = fallback_lesson(lesson)
    elif not lesson.data_chosen:
        raise ConfigError(_with_fallback_hint(lesson, "; ".join(missing_for(lesson))))
    lesson = lesson.with_settings(dict(settings or {}))
    if recipe != "textbook":
        lesson, changed = lesson_recipe(lesson, recipe)
        note = "; ".join(n for n in (note, changed) if n)
    if epochs is not None:
        if epochs < 1:
            raise ConfigError(f"epochs must be at least 1, not {epochs}")
        changes: dict[str, Any] = {"training.epochs": epochs}
        if lesson.kind == "two_stage":
            changes["training.stage2_epochs"] = epochs
        lesson = lesson.with_config(lesson.base_config.updated(**changes))
    if imagenet_weights:
        lesson = _from_imagenet_weights(lesson)
        note = "; ".join(n for n in (note, "started from the published ImageNet weights") if n)
    return lesson, note


def lesson_recipe(lesson: Lesson, recipe: str) -> tuple[Lesson, str]:
    """The lesson trained by `recipe` (engine.training.recipes), and what it changed. A comparison
    trains every row with the recipe of the architecture of its first row (its factors still vary
    what they vary). `ConfigError` for a lesson without one (`offers_fast_recipe`)."""
    base = lesson.base_config
    arch = _first_arch(lesson)
    fast = apply_recipe(base.updated(**{"arch.name": arch}), recipe).updated(**{"arch.name": base.arch.name})
    if recipe == "textbook":
        return lesson.with_config(fast), ""
    changes = describe_changes(base, fast)
    return lesson.with_config(fast), f"{recipe} recipe: " + "; ".join(changes)


def offers_fast_recipe(lesson: Lesson) -> bool:
    """Whether the lesson trains an architecture that has a fast recipe ("run it fast")."""
    if lesson.kind not in ("train", "grid"):
        return False
    try:
        recipe_changes(lesson.base_config.updated(**{"arch.name": _first_arch(lesson)}))
    except ConfigError:
        return False
    return True


def _first_arch(lesson: Lesson) -> str:
    """The architecture of the lesson's (first) run: a comparison's first `arch.name` level."""
    if lesson.grid is not None:
        for level in (f for f in lesson.grid.factors if f.key == "arch.name"):
            return str(level.values[0])
    return lesson.base_config.arch.name


def _from_imagenet_weights(lesson: Lesson) -> Lesson:
    """VGG16 from scratch, started from VGG16's ImageNet file (copied by layer name)."""

    if not lesson.offers_imagenet_weights:
        raise ConfigError(f"lesson {lesson.name} does not start from ImageNet weights (only vgg16_scratch does)")
    path = ensure_imagenet_weights("vgg16_imagenet", 224)
    return lesson.with_config(lesson.base_config.updated(init_from=str(path)))


def _with_fallback_hint(lesson: Lesson, reason: str) -> str:
    if not lesson.fallback:
        return reason
    return (
        f"{reason}; or run the lesson on {lesson.fallback} instead (layerlab-cli lesson {lesson.name} --fallback): "
        "the published figure then does not apply"
    )


def _check_inputs(lesson: Lesson) -> Any:
    """Load the data and make sure of the ImageNet weights before anything trains; the loaders'
    own offline messages, with the fallback named. Returns the dataset (None for a grid, which
    loads its own per seed)."""

    config = lesson.base_config
    try:
        dataset = load_dataset(config.data, seed=config.training.seed)
        if config.arch.weights.strip().lower() == "imagenet":
            if get_architecture(config.arch.name).kind == "backbone":
                ensure_imagenet_weights(config.arch.name, _backbone_side(config))
    except DatasetError as err:
        raise DatasetError(_with_fallback_hint(lesson, str(err))) from None
    except ArchitectureError as err:
        raise ArchitectureError(_with_fallback_hint(lesson, str(err))) from None
    return None if lesson.grid is not None else dataset


# --- running -----------------------------------------------------------------------------------
def run_lesson(
    lesson: Lesson,
    *,
    epochs: int | None = None,
    use_fallback: bool = False,
    observer: Observer | None = None,
    cancel: CancelToken | None = None,
    runs_root: str | Path | None = None,
    settings: dict[str, Any] | None = None,
    images: Sequence[Any] | None = None,
    imagenet_weights: bool = False,
    grid_dir: str | Path | None = None,
    recipe: str = "textbook",
) -> LessonResult:
    """Run `lesson` (synchronous, any thread; events through `observer`, stopped by `cancel`).

    `use_fallback`: on its fallback data (see `fallback_lesson`). `settings`: dotted settings
    applied to its config (`{"data.limit": 500}`). `images`: the photos of the "imagenet" kind
    (default: scikit-learn's two sample photographs). `imagenet_weights`: vgg16_scratch starts
    from VGG16's ImageNet weights. `recipe`: "fast" trains it with the fast recipe (`lesson_recipe`). Raises `LayerLabError` (one line, naming what to download
    and where, and the fallback) before training anything when the data or weights are missing;
    a run that fails later is in `LessonResult.failed`."""
    prepared, note = prepare_lesson(
        lesson,
        epochs=epochs,
        use_fallback=use_fallback,
        settings=settings,
        imagenet_weights=imagenet_weights,
        recipe=recipe,
    )
    observer, cancel = observer or ignore, cancel or CancelToken()
    if prepared.kind == "imagenet":
        result = _run_imagenet(prepared, images)
    else:
        dataset = _check_inputs(prepared)
        if prepared.kind == "grid":
            result = _run_grid(prepared, observer, cancel, runs_root, grid_dir)
        else:
            result = _run_single(prepared, observer, cancel, runs_root, dataset)
    return dataclasses.replace(result, lesson=lesson, fallback_used=use_fallback, note=note)


def _run_single(lesson: Lesson, observer: Observer, cancel: CancelToken, runs_root: Any, dataset: Any) -> LessonResult:
    # TensorFlow: imported here, so importing this module stays cheap
    from engine.training.trainer import train

    return lesson_result(lesson, train(lesson.base_config, observer, cancel, dataset=dataset, runs_root=runs_root))


def _run_grid(lesson: Lesson, observer: Observer, cancel: CancelToken, runs_root: Any, grid_dir: Any) -> LessonResult:

    root = Path(runs_root) if runs_root else None
    grid_dir = Path(grid_dir) if grid_dir else lesson_grid_dir(lesson, root)
    return lesson_result(lesson, run_grid(lesson.grid, observer, cancel, grid_dir=grid_dir, runs_root=root))


def lesson_result(lesson: Lesson, result: TrainResult | GridResult) -> LessonResult:
    """What a lesson's run (a `TrainResult`) or grid (a `GridResult`) measured, in one line
    comparable to `lesson.published`: how the CLI and the window, which runs a lesson through its
    own training and grid views, say the same thing."""
    if isinstance(result, GridResult):
        return _grid_result(lesson, result)
    run_dirs = [str(result.run_dir)] if result.run_dir is not None else []
    if result.failed:
        return LessonResult(
            lesson, run_dirs, f"failed: {result.failed}", failed=result.failed, cancelled=result.cancelled
        )
    m = result.metrics
    if lesson.kind == "autoencoder" or m.reconstruction_error is not None:
        row = LessonRow(
            "denoising autoencoder",
            run_dirs,
            {"reconstruction_error": m.reconstruction_error, "noisy_input_error": m.noisy_input_error},
        )
        return LessonResult(lesson, run_dirs, autoencoder_figure(m), [row], cancelled=result.cancelled)
    if lesson.kind == "two_stage" or any(entry.stage == 2 for entry in result.history):
        rows = stage_rows(result.history, m, run_dirs)
        return LessonResult(lesson, run_dirs, two_stage_figure(rows), rows, cancelled=result.cancelled)
    row = LessonRow(lesson.base_config.arch.name, run_dirs, accuracy_figures(m))
    epochs = f"{m.epochs_run} epoch{'s' if m.epochs_run != 1 else ''}"
    return LessonResult(
        lesson,
        run_dirs,
        f"{accuracy_text(row.figures, m.test_is_validation)} after {epochs}",
        [row],
        cancelled=result.cancelled,
    )


def _grid_result(lesson: Lesson, result: GridResult) -> LessonResult:
    rows = [
        LessonRow(settings_label(row.settings), list(row.run_dirs), _mean_figures(row.run_dirs)) for row in result.rows
    ]
    run_dirs = [run_dir for row in rows for run_dir in row.run_dirs]
    validated_on_test = lesson.base_config.data.validation == "test"
    figure = " | ".join(f"{row.label}: {accuracy_text(row.figures, validated_on_test)}" for row in rows if row.run_dirs)
    failed = f"{result.failed_runs} run(s) failed" if result.failed_runs and not run_dirs else None
    return LessonResult(
        lesson,
        run_dirs,
        figure or failed or "no run finished",
        rows,
        grid_dir=str(result.grid_dir),
        cancelled=result.cancelled,
        failed=failed,
    )


def lesson_grid_dir(lesson: Lesson, runs_root: Path | None) -> Path:
    """A new grid folder named after the lesson, beside the runs (`<stamp>-<lesson name>`)."""

    root = default_grids_root(runs_root)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{lesson.name}"
    for i in range(1000):
        path = root / (stem if i == 0 else f"{stem}-{i}")
        if not path.exists():
            return path
    raise ConfigError(f"cannot name a new grid folder in {root}")


def _run_imagenet(lesson: Lesson, images: Sequence[Any] | None) -> LessonResult:

    config = lesson.base_config
    try:
        classifier = ImagenetClassifier(config.arch.name, config.data.image_size)
    except ArchitectureError as err:
        raise ArchitectureError(_with_fallback_hint(lesson, str(err))) from None
    predictions: list[dict[str, Any]] = []
    for source in list(images) if images else sample_photos():
        try:
            prediction = classifier.classify(source, top_k=TOP_K)
            predictions.append(
                {"source": str(source), "top": [{"label": label, "probability": p} for label, p in prediction.top]}
            )
        except LayerLabError as err:
            predictions.append({"source": str(source), "error": str(err)})
    figure = " | ".join(
        f"{Path(p['source']).name}: "
        + (
            ", ".join(f"{t['label']} {100 * t['probability']:.1f} %" for t in p["top"][:3])
            if "top" in p
            else p["error"]
        )
        for p in predictions
    )
    return LessonResult(lesson, [], f"{config.arch.name}: {figure}", predictions=predictions)


def sample_photos() -> list[Path]:
    """scikit-learn's sample photographs (a temple in China, a flower), shipped with it."""

    folder = Path(str(files("sklearn.datasets") / "images"))
    return [folder / name for name in SAMPLE_PHOTOS if (folder / name).is_file()]


# --- figures -----------------------------------------------------------------------------------
def accuracy_figures(m: Any) -> dict[str, float | None]:
    return {"train_accuracy": m.train_accuracy, "val_accuracy": m.val_accuracy, "test_accuracy": m.test_accuracy}


def _mean_figures(run_dirs: Sequence[str]) -> dict[str, float | None]:
    """Mean train/val/test accuracy over the runs' metrics.json (None where none has it)."""

    metrics = [read_metrics(Path(run_dir)) for run_dir in run_dirs]
    figures: dict[str, float | None] = {}
    for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
        values = [getattr(m, key) for m in metrics if m is not None and getattr(m, key) is not None]
        figures[key] = sum(values) / len(values) if values else None
    return figures


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def accuracy_text(figures: dict[str, float | None], validated_on_test: bool = False) -> str:
    """ "train 99.87 % · validation 97.72 % · test 97.50 %" (what was measured; the validation
    figure is left out when it is the test figure)."""
    parts = []
    if figures.get("train_accuracy") is not None:
        parts.append(f"train {percent(figures['train_accuracy'])}")
    if figures.get("val_accuracy") is not None and not (validated_on_test and figures.get("test_accuracy") is not None):
        parts.append(f"validation {percent(figures['val_accuracy'])}")
    if figures.get("test_accuracy") is not None:
        parts.append(f"test {percent(figures['test_accuracy'])}")
    return " · ".join(parts) + " accuracy" if parts else "no accuracy measured"


def stage_rows(history: Sequence[Any], metrics: Any, run_dirs: list[str]) -> list[LessonRow]:
    """Before and after fine-tuning: the last epoch of stage 1, and the finished model."""
    first = [entry for entry in history if entry.stage == 1]
    rows = []
    if first:
        rows.append(
            LessonRow(
                "new head on the frozen base",
                run_dirs,
                {"train_accuracy": first[-1].accuracy, "val_accuracy": first[-1].val_accuracy, "test_accuracy": None},
            )
        )
    if any(entry.stage == 2 for entry in history):
        rows.append(LessonRow("after fine-tuning the last block", run_dirs, accuracy_figures(metrics)))
    return rows


def two_stage_figure(rows: list[LessonRow]) -> str:
    if not rows:
        return "no epoch finished"
    values = [percent(row.figures["val_accuracy"]) for row in rows]
    names = " → ".join(row.label for row in rows)
    return f"{' → '.join(values)} validation accuracy ({names})"


def autoencoder_figure(m: Any) -> str:
    if m.reconstruction_error is None:
        return "no validation images to measure the reconstruction on"
    return (
        f"reconstruction error {m.reconstruction_error:.4f} against {m.noisy_input_error:.4f} for the noisy inputs "
        f"themselves (mean squared error on 0..1 pixels, validation images, noise {m.noise:g})"
    )
