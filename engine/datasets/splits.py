"""Where the test set comes from, and what validates: the `data.test_split` and `data.validation`
options, applied to a loaded dataset.

A lesson is judged on images the model never saw. Keras datasets, `.npz` files with
`x_test`/`y_test` and folders with a `test/` folder bring such a test split; for data without one
(`digits`, `shapes`, a plain class folder, an `.npz` of `x`, `y`) `carve_test_split` holds out a
stratified, seeded fraction. `validate_on_test` is the classic tutorials' way instead: validate on
the test split during training (and train on everything else), which leaves no untouched test
set; the run's metrics then say so (`RunMetrics.test_is_validation`).

Both work on the in-memory `Dataset` and, over its file lists, on a streamed folder; they return a
new dataset and never change their argument.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.datasets.base import Dataset, maybe_join, maybe_take, stratified_indices

# The test carve's seed is offset from the data seed so that it draws differently from the
# validation split (seed) and from `limit_samples` (seed + 1, seed + 2).
TEST_SEED_OFFSET = 3


def apply_split_options(dataset: Any, options: DataOptions, seed: int) -> Any:
    """The dataset as `options.test_split` and `options.validation` ask (unchanged by default);
    in memory or streamed (a class folder: the same rules over its file lists)."""
    streams = getattr(dataset, "streams", False)
    if options.test_split is not None:
        dataset = (carve_streamed_test_split if streams else carve_test_split)(dataset, options.test_split, seed)
    if options.validation == "test":
        dataset = (validate_streamed_on_test if streams else validate_on_test)(dataset)
    return dataset


def carve_streamed_test_split(dataset: Any, fraction: float, seed: int) -> Any:
    """`carve_test_split` for a streamed folder: the same stratified draw, over its files."""
    if dataset.y_test is not None:
        raise DatasetError(
            f"{dataset.name} already has a test split ({len(dataset.y_test)} images); "
            "a test split is only held out of data without one"
        )
    train, val = dataset.files("train"), dataset.files("validation")
    kept, held = stratified_indices(np.concatenate([dataset.y_train, dataset.y_val]), fraction, seed + TEST_SEED_OFFSET)
    if len(held) == 0:
        raise DatasetError(f"{dataset.name} is too small to hold out a test split of {fraction:g}")
    every = train + val
    return dataset.with_splits(
        {
            "train": [every[i] for i in kept if i < len(train)],
            "validation": [every[i] for i in np.sort(kept) if i >= len(train)],
            "test": [every[i] for i in held],
        }
    )


def validate_streamed_on_test(dataset: Any) -> Any:
    """`validate_on_test` for a streamed folder."""
    if dataset.y_test is None or len(dataset.y_test) == 0:
        raise DatasetError(
            f"{dataset.name} has no test split to validate on: hold one out with a test split "
            "(--test-split), or validate on a split of the training data (--validation split)"
        )
    return dataset.with_splits(
        {"train": dataset.files("train") + dataset.files("validation"), "validation": dataset.files("test")}
    )


def carve_test_split(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """Hold out `fraction` of the labelled samples as the test split, stratified and seeded.

    One stratified draw over the training and validation parts together, so the test split has
    exactly the class proportions of the data; each part gives up about `fraction` of itself
    (the validation fraction keeps its meaning relative to what remains), and validation sources
    stay with their images. A dataset that already has a test split is refused: its own test
    set is the one to use.
    """
    if dataset.x_test is not None:
        raise DatasetError(
            f"{dataset.name} already has a test split ({len(dataset.x_test)} images); "
            "a test split is only held out of data without one"
        )
    n_train = len(dataset.y_train)
    kept, held = stratified_indices(np.concatenate([dataset.y_train, dataset.y_val]), fraction, seed + TEST_SEED_OFFSET)
    if len(held) == 0:
        raise DatasetError(f"{dataset.name} is too small to hold out a test split of {fraction:g}")
    keep_train, keep_val = kept[kept < n_train], np.sort(kept[kept >= n_train]) - n_train
    held_train, held_val = held[held < n_train], held[held >= n_train] - n_train  # index each part: no copy of all
    x_test = np.concatenate([dataset.x_train[held_train], dataset.x_val[held_val]])
    y_test = np.concatenate([dataset.y_train[held_train], dataset.y_val[held_val]])
    sources = dataset.val_sources
    held_rows = maybe_join(maybe_take(dataset.train_rows, held_train), maybe_take(dataset.val_rows, held_val))
    return replace(
        dataset,
        x_train=dataset.x_train[keep_train],
        y_train=dataset.y_train[keep_train],
        x_val=dataset.x_val[keep_val],
        y_val=dataset.y_val[keep_val],
        val_sources=None if sources is None else [sources[i] for i in keep_val],
        x_test=x_test,
        y_test=y_test,
        train_rows=maybe_take(dataset.train_rows, keep_train),
        val_rows=maybe_take(dataset.val_rows, keep_val),
        test_rows=held_rows,
    )


def validate_on_test(dataset: Dataset) -> Dataset:
    """Validate on the test split and train on the training and validation parts together, as
    `model.fit(x_train, y_train, validation_data=(x_test, y_test))` does in the tutorials.

    The result has no test split left: the test figures of such a run are its validation figures.
    """
    if dataset.x_test is None or dataset.y_test is None or len(dataset.x_test) == 0:
        raise DatasetError(
            f"{dataset.name} has no test split to validate on: hold one out with a test split "
            "(--test-split), or validate on a split of the training data (--validation split)"
        )
    return replace(
        dataset,
        x_train=np.concatenate([dataset.x_train, dataset.x_val]),
        y_train=np.concatenate([dataset.y_train, dataset.y_val]),
        x_val=dataset.x_test,
        y_val=dataset.y_test,
        val_sources=None,
        x_test=None,
        y_test=None,
        train_rows=maybe_join(dataset.train_rows, dataset.val_rows),
        val_rows=dataset.test_rows,
        test_rows=None,
    )
