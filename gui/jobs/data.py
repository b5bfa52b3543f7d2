"""Loading a dataset, and previewing its augmentation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import DataOptions, dataset_key
from engine import load_dataset as load
from engine import save_class_names as keep_class_names
from gui.engine_startup import load_engine
from gui.tasks import Task

#: Datasets whose loading imports no TensorFlow: they load while the engine is still starting.
FAST_DATASETS = frozenset({"digits", "shapes"})


@dataclass(frozen=True)
class DatasetBundle:
    key: str  # engine.dataset_key: two configs with the same key load the very same dataset
    dataset: Any
    samples: dict[int, Any]


def load_dataset(task: Task, data: DataOptions, seed: int, per_class: int, budget: Any = None) -> DatasetBundle:
    if data.name not in FAST_DATASETS:
        load_engine()
    dataset = load(data, seed=seed, budget=budget)
    task.check()
    return DatasetBundle(dataset_key(data, seed), dataset, dataset.samples(per_class))


@dataclass(frozen=True)
class Preview:
    """Augmented copies of a few training images, for the preview grid."""

    originals: Any  # uint8 (N, H, W, C)
    copies: Any  # uint8 (N, K, H, W, C)
    labels: tuple[int, ...]


def preview(task: Task, images: Any, labels: list[int], augmentation: Any, copies: int, seed: int) -> Preview:
    load_engine()
    task.check()
    from engine import augmentation_preview  # TensorFlow: only in the worker, once the engine is loaded

    return Preview(images, augmentation_preview(images, augmentation, copies, seed), tuple(labels))


def save_class_names(task: Task, data: Any, names: list[str], classes: int) -> str:
    """Keep the names typed for the classes of `data` beside it (never in the user's file); the file."""
    return str(keep_class_names(data, names, classes))
