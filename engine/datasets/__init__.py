"""Datasets by name: the built-in ones, Keras's, class folders and `.npz` files (one module per
source), each split as the options ask. Cheap to import: TensorFlow is imported only when a
dataset is turned into a `tf.data` pipeline, or when Keras downloads one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.datasets.base import Dataset, limit_samples
from engine.datasets.builtin import load_digits, load_shapes
from engine.datasets.class_names import with_class_names
from engine.datasets.folder import load_folder
from engine.datasets.keras_datasets import load_keras_dataset
from engine.datasets.npz import load_npz
from engine.datasets.splits import apply_split_options

if TYPE_CHECKING:
    from engine.caches.images import ImageCache
    from engine.core.memory import MemoryBudget

KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    needs_download: bool


_INFOS = (
    DatasetInfo("digits", "8×8 handwritten digits bundled with scikit-learn (1 797 images, 10 classes)", False),
    DatasetInfo(
        "shapes",
        "generated colour shapes: circle, square, triangle, star, cross (32×32, 3 750 images; a CNN beats a dense network)",
        False,
    ),
    DatasetInfo("mnist", "28×28 handwritten digits (70 000 images, 10 classes)", True),
    DatasetInfo("fashion_mnist", "28×28 clothing pictures (70 000 images, 10 classes)", True),
    DatasetInfo("cifar10", "32×32 colour photos of 10 kinds of object (60 000 images)", True),
    DatasetInfo("cifar100", "32×32 colour photos of 100 kinds of object (60 000 images)", True),
    DatasetInfo("folder:PATH", "your images: one sub-folder per class, or train/ and valid/ folders", False),
    DatasetInfo("npz:PATH", "NumPy arrays x_train, y_train [, x_test, y_test] or x, y", False),
)


def list_datasets() -> list[DatasetInfo]:
    """Every dataset name LayerLab knows, with what it is and whether it needs a download."""
    return list(_INFOS)


def dataset_key(data: DataOptions, seed: int) -> str:
    """Two configs with the same key load the very same dataset (same split, size, limit), so a
    front end may reuse one it holds."""
    return f"{data.model_dump_json()}|seed={seed}"


def load_dataset(
    options: DataOptions, *, seed: int = 0, image_cache: ImageCache | None = None, budget: MemoryBudget | None = None
) -> Any:
    """Load the dataset `options.name` names; raise `DatasetError` with a reason if it cannot be.

    Built-in, Keras and `.npz` data load into memory as a `Dataset`; a class folder loads as a
    `FolderDataset` (file names and labels; pixels are decoded when read, through `image_cache`,
    by default the user's decoded-image cache, and never all at once beyond `budget`).
    """
    name = options.name
    kind, _, argument = name.partition(":")
    if kind == "digits" and not argument:
        dataset = load_digits(options, seed)
    elif kind == "shapes" and not argument:
        dataset = load_shapes(options, seed)
    elif kind in KERAS_DATASETS and not argument:
        dataset = load_keras_dataset(options, seed)
    elif kind == "folder" and argument:
        dataset = load_folder(argument, options, seed, image_cache=image_cache, budget=budget)
    elif kind == "npz" and argument:
        dataset = with_class_names(load_npz(argument, options, seed), options)
    else:
        known = ", ".join(info.name for info in _INFOS)
        raise DatasetError(f"unknown dataset '{name}' (choose one of: {known})")
    return limit_samples(apply_split_options(dataset, options, seed), options.limit, seed)


__all__ = ["Dataset", "DatasetInfo", "dataset_key", "list_datasets", "load_dataset"]
# FolderDataset, ImageFiles: engine.datasets.streamed; ImageCache: engine.caches.images.
