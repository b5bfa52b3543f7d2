"""Which labels are likely wrong: confident learning on out-of-sample predicted probabilities.

Every sample of the dataset (all splits) gets a predicted probability from a model that never
saw it: k-fold cross-validation of the experiment's own architecture, trained for a few epochs
per fold (a frozen ImageNet base is run once over all the images and only its head is trained
per fold, as the trainer's feature cache does). cleanlab's confident learning then flags the
samples whose given label disagrees with what the out-of-sample model is confident about
(`cleanlab.filter.find_label_issues`, pruning by the estimated noise rates), ranked by the
self-confidence of their given label: most likely wrong first.

The user's verdicts are kept with `engine.datasets.decisions` (re-exported here); samples already
decided are left out of the list.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.architectures import build_model
from engine.architectures.outputs import as_probabilities
from engine.config import ExperimentConfig
from engine.core.cancel import Cancelled
from engine.core.errors import ConfigError, DatasetError
from engine.core.records import sample_name
from engine.datasets import load_dataset
from engine.datasets.decisions import (
    Key,
    LabelDecisions,
    RowKey,
    folder_root,
    load_decisions,
    normal_key,
    present_splits,
    sample_key,
    save_decisions,
    sidecar_path,
    split_sources,
)
from engine.inference.features import array_batches
from engine.runtime.graphs import compiled_call

__all__ = [
    "Key",
    "LabelDecisions",
    "LabelIssue",
    "LabelIssueProgress",
    "find_label_issues",
    "load_decisions",
    "rank_label_issues",
    "save_decisions",
    "sidecar_path",
]

MAX_FOLDS = 20


@dataclass(frozen=True)
class LabelIssue:
    """A sample whose given label is likely wrong."""

    split: str  # "train", "validation" or "test"
    index: int  # index into that split as loaded
    source: str | None  # its file, for folder data
    given: str
    suggested: str  # what the out-of-sample model answers
    score: float  # 0..1, higher: more likely wrong (1 - the given label's self-confidence)
    # Array data (an .npz, a Keras dataset, the digits): the array and row of the user's data
    # before any split ("x_train", 1234), whatever the validation split or seed.
    array: str | None = None
    row: int | None = None

    @property
    def name(self) -> str:
        """The sample in the user's terms: its file, "x_train[1234]", or "train[12]"."""
        return sample_name(self.source, self.array, self.row, f"{self.split}[{self.index}]")

    @property
    def key(self) -> Key:
        """How a label decision names this sample (`engine.datasets.decisions.sample_key`)."""
        return sample_key(self.source, self.array, self.row, self.split, self.index)


@dataclass(frozen=True)
class LabelIssueProgress:
    """Sent to the observer after each cross-validation fold."""

    fold: int  # folds done so far
    folds: int
    seconds: float  # since the search began


def find_label_issues(
    config: ExperimentConfig,
    *,
    folds: int = 4,
    epochs: int | None = None,
    cancel: Any = None,
    observer: Callable[[LabelIssueProgress], None] | None = None,
    dataset: Any = None,
) -> list[LabelIssue]:
    """Likely label errors in `config`'s dataset, most likely first (see the module docstring).

    `epochs` per fold defaults to the config's; `dataset` may be given when already loaded (as
    loaded, before any label decision). Raises `ConfigError`/`DatasetError` for what cannot
    work and `Cancelled` when `cancel` is set."""
    if not 2 <= folds <= MAX_FOLDS:
        raise ConfigError(f"folds must be between 2 and {MAX_FOLDS}, not {folds}")
    if dataset is None:
        dataset = load_dataset(config.data, seed=config.training.seed)
    pool = _Pool.of(dataset)
    if len(pool.labels) < 2 * folds:
        raise DatasetError(f"{dataset.name} has {len(pool.labels)} samples: too few for {folds}-fold cross-validation")
    config = config.updated(**{"training.epochs": int(epochs)}) if epochs else config
    probabilities = out_of_sample_probabilities(config, pool.images, pool.labels, dataset, folds, cancel, observer)
    issues = rank_label_issues(pool.labels, probabilities, dataset.class_names, pool.where, pool.sources, pool.rows)
    return _undecided(issues, config)


# --- the data, pooled --------------------------------------------------------------------------------------
@dataclass
class _Pool:
    images: np.ndarray
    labels: np.ndarray
    where: list[tuple[str, int]]  # (split, index) of each pooled sample
    sources: list[str | None]
    rows: list[tuple[str, int] | None]  # (array, row) in the user's data, for array data

    @classmethod
    def of(cls, dataset: Any) -> _Pool:
        images, labels, where, sources, rows = [], [], [], [], []
        for split in present_splits(dataset):
            x, y = dataset.split(split)
            images.append(np.asarray(x))
            labels.append(np.asarray(y, np.int64))
            where += [(split, i) for i in range(len(y))]
            files = split_sources(dataset, split)
            sources += list(files) if files is not None else [None] * len(y)
            origin = dataset.rows(split) if hasattr(dataset, "rows") else None
            rows += [origin.at(i) for i in range(len(y))] if origin is not None else [None] * len(y)
        return cls(np.concatenate(images), np.concatenate(labels), where, sources, rows)


# --- cross-validation --------------------------------------------------------------------------------------
def out_of_sample_probabilities(
    config: ExperimentConfig,
    images: np.ndarray,
    labels: np.ndarray,
    dataset: Any,
    folds: int,
    cancel: Any = None,
    observer: Callable | None = None,
) -> np.ndarray:
    """(N, K) probabilities, each from the model of the fold that held the sample out."""

    from sklearn.model_selection import StratifiedKFold  # slow to import: loaded when needed

    started = time.perf_counter()
    probabilities = np.zeros((len(labels), dataset.num_classes), np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a class with fewer samples than folds: still split
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=config.training.seed).split(images, labels))
    cached: dict[str, np.ndarray] = {}
    for fold, (train_index, held_out) in enumerate(splits):
        _check(cancel)
        probabilities[held_out] = _fit_and_predict(
            config, dataset, images, labels, train_index, held_out, cached, cancel
        )
        if observer is not None:
            observer(LabelIssueProgress(fold + 1, folds, time.perf_counter() - started))
    return probabilities


def _fit_and_predict(
    config: ExperimentConfig,
    dataset: Any,
    images: np.ndarray,
    labels: np.ndarray,
    train_index: np.ndarray,
    held_out: np.ndarray,
    cached: dict[str, np.ndarray],
    cancel: Any,
) -> np.ndarray:
    """Train a fresh model on `train_index` and return its probabilities for `held_out`."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    from engine.architectures.layers import apply_freezing
    from engine.training import feature_cache
    from engine.training.tasks import loss_for

    keras.utils.set_random_seed(config.training.seed)  # every fold starts from the same weights
    model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
    apply_freezing(model, config.layer_trainable, config.freeze_all_but)
    plan = feature_cache.plan(model)[0] if config.training.feature_cache else None
    inputs: Any = images
    if plan is not None:  # the frozen prefix is the same in every fold: run it once
        if "features" not in cached:
            cached["features"] = _predict(plan.prefix, images, cancel)
        model, inputs = plan.head, cached["features"]
    t = config.training
    model.compile(optimizer=_optimizer(t), loss=loss_for(config.arch.name), metrics=["accuracy"])
    model.fit(
        _batches(inputs, labels, train_index, t.batch_size, shuffle=True, seed=t.seed),
        epochs=t.epochs,
        verbose=0,
        shuffle=False,
        callbacks=[_stop_on_cancel(cancel)],
    )
    _check(cancel)
    return as_probabilities(model, _predict(model, inputs[held_out], cancel))  # CapsNet: lengths → probabilities


def _batches(
    inputs: np.ndarray, labels: np.ndarray, index: np.ndarray, batch_size: int, *, shuffle: bool, seed: int
) -> Any:
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((inputs[index], labels[index].astype(np.int32)))
    if shuffle:
        data = data.shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(tf.data.AUTOTUNE)


def _predict(model: Any, inputs: np.ndarray, cancel: Any) -> np.ndarray:
    forward = compiled_call(model)
    outputs = []
    for batch in array_batches(inputs):
        _check(cancel)
        outputs.append(np.asarray(forward(batch), np.float32))
    return np.concatenate(outputs)


def _optimizer(t: Any) -> Any:
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    if t.optimizer == "sgd":
        return keras.optimizers.SGD(t.learning_rate, momentum=t.momentum)
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(t.learning_rate)
    return keras.optimizers.Adam(t.learning_rate)


def _check(cancel: Any) -> None:
    if cancel is not None and cancel.cancelled:
        raise Cancelled("the search for label issues was cancelled")


def _stop_on_cancel(cancel: Any) -> Any:
    """A Keras callback that stops the fit within a batch once `cancel` is set."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    class StopOnCancel(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if cancel is not None and cancel.cancelled:
                self.model.stop_training = True

    return StopOnCancel()


# --- confident learning ------------------------------------------------------------------------------------
def rank_label_issues(
    labels: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str],
    where: list[tuple[str, int]],
    sources: list[str | None] | None = None,
    rows: list[tuple[str, int] | None] | None = None,
) -> list[LabelIssue]:
    """The samples cleanlab flags, most likely wrong first (lowest self-confidence). `where`:
    (split, index) of each sample; `sources`: its file; `rows`: its (array, row) in the user's data."""
    from cleanlab.filter import find_label_issues as flag  # slow to import: loaded when needed
    from cleanlab.rank import get_label_quality_scores  # slow to import: loaded when needed

    labels = np.asarray(labels, np.int64)
    probabilities = np.clip(np.asarray(probabilities, np.float64), 1e-12, None)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    flagged = flag(labels, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)  # n_jobs=1: never fork TF
    quality = get_label_quality_scores(labels, probabilities, method="self_confidence")
    order = sorted(np.flatnonzero(flagged), key=lambda i: (quality[i], i))
    suggested = probabilities.argmax(axis=1)
    sources = sources or [None] * len(labels)
    rows = rows or [None] * len(labels)
    return [
        LabelIssue(
            where[i][0],
            int(where[i][1]),
            sources[i],
            class_names[labels[i]],
            class_names[suggested[i]],
            float(1.0 - quality[i]),
            *(rows[i] or (None, None)),
        )
        for i in order
    ]


def _undecided(issues: list[LabelIssue], config: ExperimentConfig) -> list[LabelIssue]:
    """Leave out the samples the user already excluded or relabelled."""

    decisions = load_decisions(config.data)
    if not len(decisions):
        return issues
    root = folder_root(config.data)
    decided = {normal_key(key, root) for key in (*decisions.exclude, *decisions.relabel)}
    same_split = decisions.seed == config.training.seed
    return [
        issue
        for issue in issues
        if not (issue.source is not None and normal_key(issue.source, root) in decided)
        and not (issue.array is not None and RowKey(issue.array, int(issue.row or 0)) in decided)
        and not (same_split and (issue.split, issue.index) in decided)
    ]
