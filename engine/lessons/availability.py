"""Whether a lesson can run offline, what is missing (said as what to download and where), and
the same lesson on the embedded digits or generated shapes instead.

Only the disk is looked at: no network, no TensorFlow (a window can ask before TensorFlow has
started). Running a lesson whose files are missing still tries the ordinary downloads, which
fail offline with the loaders' own messages.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from engine.architectures import get_architecture
from engine.architectures.weights import imagenet_file
from engine.config import ExperimentConfig
from engine.core.errors import ArchitectureError, ConfigError
from engine.datasets import KERAS_DATASETS
from engine.datasets.keras_datasets import FASHION_FILES, keras_datasets_dir, offline_message
from engine.inference.imagenet import missing_files, models_cache_dir
from engine.lessons.catalogue import Lesson

CIFAR_PLACES = {
    "cifar10": (
        "cifar-10-batches-py-target/cifar-10-batches-py",
        "cifar-10-batches-py",
        "cifar-10-python.tar.gz",
        "cifar-10-batches-py-target_archive",
    ),
    "cifar100": (
        "cifar-100-python-target/cifar-100-python",
        "cifar-100-python",
        "cifar-100-python.tar.gz",
        "cifar-100-python-target_archive",
    ),
}


def keras_dataset_cached(name: str) -> bool:
    """Whether `engine.datasets.keras_datasets` finds `name` in Keras's cache without a download
    (the same places it looks in, without extracting anything)."""

    cache = keras_datasets_dir()
    if name == "mnist":
        return (cache / "mnist.npz").is_file()
    if name == "fashion_mnist":
        return all((cache / "fashion-mnist" / f).is_file() for f in FASHION_FILES)
    return any((cache / place).exists() for place in CIFAR_PLACES.get(name, ()))


def _data_missing(config: ExperimentConfig) -> list[str]:

    name = config.data.name
    kind, _, argument = name.partition(":")
    if kind in KERAS_DATASETS and not argument:
        return [] if keras_dataset_cached(kind) else [offline_message(kind).replace(" and cannot be fetched", "")]
    if kind in ("folder", "npz") and argument and not Path(argument).expanduser().exists():
        return [f"there is nothing at {argument} (the lesson's data)"]
    return []


def _backbone_side(config: ExperimentConfig) -> int:
    """The square side a backbone's base sees (what picks MobileNetV2's weights file)."""

    info = get_architecture(config.arch.name)
    side = config.data.image_size or info.default_image_size or info.min_image_size
    return max(side, info.min_image_size)


def imagenet_weights_missing(config: ExperimentConfig) -> list[str]:
    """What a backbone with `weights: imagenet` lacks in Keras's cache (one sentence per file)."""

    try:
        info = get_architecture(config.arch.name)
    except ArchitectureError:
        return []
    if info.kind != "backbone" or config.arch.weights.strip().lower() != "imagenet":
        return []
    wf = imagenet_file(config.arch.name, _backbone_side(config))
    folder = models_cache_dir()
    if (folder / wf.file_name).is_file():
        return []
    return [
        f"ImageNet weights for {config.arch.name} are not downloaded: put {wf.file_name} in {folder}/ (from {wf.url})"
    ]


def missing_for(lesson: Lesson) -> list[str]:
    """Everything the lesson would have to download or be given, one sentence each."""
    if lesson.kind == "imagenet":
        config = lesson.base_config
        return missing_files(config.arch.name, config.data.image_size)
    if not lesson.data_chosen:
        return [f"this lesson needs {lesson.dataset_needed}; choose it (layerlab-cli: --dataset folder:PATH)"]
    config = lesson.base_config
    return _data_missing(config) + imagenet_weights_missing(config)


def lesson_available(lesson: Lesson) -> tuple[bool, str]:
    """(True, "") when the lesson's data and weights are all here; else (False, one line saying
    what to download and where, and what the lesson can run on instead)."""
    missing = missing_for(lesson)
    if not missing:
        return True, ""
    instead = (
        f"; or run it on {lesson.fallback} instead (then the published figure does not apply)"
        if lesson.fallback
        else ""
    )
    return False, "; ".join(missing) + instead


def fallback_lesson(lesson: Lesson) -> tuple[Lesson, str]:
    """The lesson on its fallback data (and random weights where the ImageNet ones are missing),
    with a note saying so; `ConfigError` for a lesson that has no fallback."""
    if not lesson.fallback:
        _ok, why = lesson_available(lesson)
        raise ConfigError(f"lesson {lesson.name} cannot run without its files: {why or lesson.dataset_needed}")
    settings = {"data.name": lesson.fallback, "data.validation": "split", **lesson.fallback_settings}
    was = "your photos" if not lesson.data_chosen else lesson.base_config.data.name
    fallen = lesson.with_settings(settings)
    notes = [f"on {lesson.fallback} instead of {was}: the published figure does not apply"]
    if imagenet_weights_missing(fallen.base_config):
        fallen = fallen.with_settings({"arch.weights": "none"})
        notes.append("random weights instead of the ImageNet ones (not downloaded)")
    return _chosen(fallen), "; ".join(notes)


def _chosen(lesson: Lesson) -> Lesson:

    return dataclasses.replace(lesson, data_chosen=True)
