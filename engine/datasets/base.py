"""The `Dataset` every source returns, and the split/subsample helpers they share.

Images stay `uint8` NumPy arrays (N, H, W, C) until `tf_dataset` hands them to TensorFlow, so a
dataset is cheap to hold, hash and show as thumbnails, and this module never imports TensorFlow
at import time (the window imports the registry before TF has loaded).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from engine.core.errors import DatasetError

Polarity = Literal["light_on_dark", "dark_on_light", "natural"]
SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "valid": "validation",
    "test": "test",
}
_SPLIT_ALIASES = SPLIT_ALIASES


class ImageBatch(NamedTuple):
    """One batch of a pass over a split, as both kinds of dataset give it (`batches()`)."""

    images: np.ndarray  # uint8 (n, H, W, C)
    labels: np.ndarray  # int32 (n,)
    positions: np.ndarray  # int64 (n,): each image's index in the split when the pass began
    decoded: int = 0  # how many of them were decoded for this batch (not read back)
    skipped: int = 0  # unreadable files met (and dropped) while filling it


@dataclass(frozen=True, eq=False)
class Rows:
    """Where each sample of a split lies in the user's own data, before any split: the array it
    came from (`"x_train"`, `"x_test"` or `"x"` of an `.npz`, a Keras dataset's `x_train`/`x_test`)
    and its row there. Shuffled splits, held-out test sets, sample limits and label decisions all
    reorder samples; these stay put, so an answer can say "x_train[1234]" and mean the user's row."""

    arrays: tuple[str, ...]
    which: np.ndarray  # int8 (n,): index into `arrays`
    rows: np.ndarray  # int64 (n,)

    @classmethod
    def of(cls, array: str, rows: Any) -> Rows:
        rows = np.asarray(rows, np.int64).reshape(-1)
        return cls((array,), np.zeros(len(rows), np.int8), rows)

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: Any) -> Rows:
        return Rows(self.arrays, self.which[index], self.rows[index])

    def __add__(self, other: Rows) -> Rows:
        arrays = tuple(dict.fromkeys(self.arrays + other.arrays))
        remap = np.array([arrays.index(a) for a in other.arrays], np.int8)
        which = np.concatenate([self.which, remap[other.which] if len(other.arrays) else other.which])
        return Rows(arrays, which.astype(np.int8), np.concatenate([self.rows, other.rows]))

    def at(self, i: int) -> tuple[str, int]:
        """(array, row) of the `i`-th sample."""
        return self.arrays[int(self.which[i])], int(self.rows[i])

    def name(self, i: int) -> str:
        """The `i`-th sample as the user would index it: "x_train[1234]"."""
        array, row = self.at(i)
        return f"{array}[{row}]"


def maybe_take(rows: Rows | None, index: Any) -> Rows | None:
    return None if rows is None else rows.take(index)


def maybe_join(first: Rows | None, second: Rows | None) -> Rows | None:
    """Two splits' rows one after the other (None unless both have them)."""
    return None if first is None or second is None else first + second


@dataclass
class Dataset:
    """Images and labels of one loaded dataset, already split into train/validation[/test].

    The in-memory kind (built-in, Keras, `.npz` data): its arrays are the data. Class folders
    load as `engine.datasets.streamed.FolderDataset`, which answers the same questions from a
    file list; code that must tell them apart reads `streams`.
    """

    streams: ClassVar[bool] = False

    name: str
    class_names: list[str]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    val_sources: list[str] | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    polarity: Polarity = "natural"
    # The file of each training / test sample, for file-based data (label decisions and the
    # label-issue finder name samples by file).
    train_sources: list[str] | None = None
    test_sources: list[str] | None = None
    # Where each sample of each split lies in the user's arrays (array data: `.npz`, Keras, digits).
    train_rows: Rows | None = None
    val_rows: Rows | None = None
    test_rows: Rows | None = None

    def __post_init__(self) -> None:
        # Normalise once here so every consumer can rely on dtype/rank without re-checking.
        self.class_names = [str(c) for c in self.class_names]
        self.x_train, self.y_train = _images(self.x_train), _labels(self.y_train)
        self.x_val, self.y_val = _images(self.x_val, self.x_train.shape[1:]), _labels(self.y_val)
        if self.x_test is not None and self.y_test is not None:
            self.x_test, self.y_test = _images(self.x_test, self.x_train.shape[1:]), _labels(self.y_test)
        else:
            self.x_test = self.y_test = None
        for split, (x, y) in self._arrays().items():
            if len(x) != len(y):
                raise DatasetError(f"{self.name}: {split} has {len(x)} images but {len(y)} labels")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise DatasetError(
                    f"{self.name}: {split} labels run from {int(y.min())} to {int(y.max())}, "
                    f"but there are {self.num_classes} class names (labels must be 0..{self.num_classes - 1})"
                )
        if self.val_sources is not None and len(self.val_sources) != len(self.x_val):
            raise DatasetError(f"{self.name}: {len(self.val_sources)} validation sources for {len(self.x_val)} images")
        if self.train_sources is not None and len(self.train_sources) != len(self.x_train):
            raise DatasetError(
                f"{self.name}: {len(self.train_sources)} training sources for {len(self.x_train)} images"
            )
        if self.x_test is None:
            self.test_sources = None
        elif self.test_sources is not None and len(self.test_sources) != len(self.x_test):
            raise DatasetError(f"{self.name}: {len(self.test_sources)} test sources for {len(self.x_test)} images")
        if self.x_test is None:
            self.test_rows = None
        for split, rows in (("train", self.train_rows), ("validation", self.val_rows), ("test", self.test_rows)):
            if rows is not None and len(rows) != len(self.split(split)[1]):
                raise DatasetError(f"{self.name}: {len(rows)} {split} rows for {len(self.split(split)[1])} images")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        h, w, c = self.x_train.shape[1:]
        return int(h), int(w), int(c)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> dict[str, int]:
        return {
            "train": len(self.x_train),
            "validation": len(self.x_val),
            "test": 0 if self.x_test is None else len(self.x_test),
        }

    def _arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        arrays = {"train": (self.x_train, self.y_train), "validation": (self.x_val, self.y_val)}
        if self.x_test is not None and self.y_test is not None:
            arrays["test"] = (self.x_test, self.y_test)
        return arrays

    def split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of "train", "validation" (or "val") or "test"."""
        key = _SPLIT_ALIASES.get(split)
        if key is None:
            raise DatasetError(f"unknown split {split!r}: use train, validation or test")
        arrays = self._arrays()
        if key not in arrays:
            raise DatasetError(f"{self.name} has no {key} split")
        return arrays[key]

    def tf_dataset(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> Any:
        """A `tf.data.Dataset` of (float32 images 0..255, int32 labels) batches.

        The uint8 batches are cached (4x smaller than float32) and cast on the fly; training data
        is reshuffled every epoch from `seed` so a run is reproducible.
        """
        # TensorFlow: imported here, so importing this module stays cheap
        import tensorflow as tf

        x, y = self.split(split)
        data = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            data = data.shuffle(max(1, len(x)), seed=seed, reshuffle_each_iteration=True)
        data = data.batch(max(1, int(batch_size)))
        if not shuffle:
            data = data.cache()
        data = data.map(
            lambda images, labels: (tf.cast(images, tf.float32), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return data.prefetch(tf.data.AUTOTUNE)

    def batches(
        self, split: str, batch_size: int, *, shuffle: bool = False, seed: Any = 0, cancel: Any = None
    ) -> Iterator[ImageBatch]:
        """(uint8 images, labels, positions) batches of a split, in order or shuffled by `seed`:
        the same passes a streamed folder gives, here as slices of the arrays."""
        x, y = self.split(split)
        order = np.random.default_rng(seed).permutation(len(x)) if shuffle else np.arange(len(x))
        size = max(1, int(batch_size))
        for start in range(0, len(x), size):
            index = order[start : start + size]
            if shuffle:
                yield ImageBatch(x[index], y[index], index.astype(np.int64))
            else:  # slices, not copies
                yield ImageBatch(x[start : start + size], y[start : start + size], index.astype(np.int64))

    def prepare(self, cancel: Any = None, on_progress: Any = None) -> bool:
        """Nothing to decode: the images are in memory (see `FolderDataset.prepare`)."""
        return True

    def fingerprint(self) -> str:
        """Changes whenever an image, a label or the split changes (every byte is hashed: a
        feature cache on disk must never take one dataset for another)."""

        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((self.name, self.class_names)).encode())
        for split, (x, y) in self._arrays().items():
            digest.update(f"{split}:{x.shape}:{y.shape}".encode())
            digest.update(np.ascontiguousarray(x).data)
            digest.update(np.ascontiguousarray(y).data)
        return digest.hexdigest()

    def rows(self, split: str) -> Rows | None:
        """Where the samples of `split` lie in the user's arrays (None: not array data)."""
        key = _SPLIT_ALIASES.get(split)
        return {"train": self.train_rows, "validation": self.val_rows, "test": self.test_rows}.get(key or "")

    def select(self, split: str, index: np.ndarray) -> None:
        """Keep only the samples at `index` of a split (`limit_samples`)."""
        key = _SPLIT_ALIASES[split]
        if key == "train":
            self.x_train, self.y_train = self.x_train[index], self.y_train[index]
            self.train_sources = _picked(self.train_sources, index)
            self.train_rows = maybe_take(self.train_rows, index)
        elif key == "validation":
            self.x_val, self.y_val = self.x_val[index], self.y_val[index]
            self.val_sources = _picked(self.val_sources, index)
            self.val_rows = maybe_take(self.val_rows, index)
        elif self.x_test is not None and self.y_test is not None:
            self.x_test, self.y_test = self.x_test[index], self.y_test[index]
            self.test_sources = _picked(self.test_sources, index)
            self.test_rows = maybe_take(self.test_rows, index)

    def samples(self, per_class: int) -> dict[int, np.ndarray]:
        """The first `per_class` training images of each class (deterministic: train order is seeded)."""
        out: dict[int, np.ndarray] = {}
        for label in range(self.num_classes):
            index = np.flatnonzero(self.y_train == label)[: max(0, per_class)]
            out[label] = self.x_train[index]
        return out


def _picked(sources: list[str] | None, index: np.ndarray) -> list[str] | None:
    return None if sources is None else [sources[i] for i in index]


def _images(x: Any, like: tuple[int, ...] | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DatasetError(f"images must be (N, H, W, C) with C 1 or 3, got shape {x.shape}")
    if like is not None and len(x) and x.shape[1:] != like:
        raise DatasetError(f"images of shape {x.shape[1:]} do not match the training images {like}")
    return np.ascontiguousarray(x, dtype=np.uint8)


def _labels(y: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(y).reshape(-1), dtype=np.int32)


def stratified_indices(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified (train_indices, val_indices), both in shuffled order.

    scikit-learn's `train_test_split(stratify=y)` when it can; it refuses classes with a single
    sample or a validation set smaller than the class count, and then each class gives
    round(n * fraction) samples (at least one when it has two, never all). Shuffled output
    matters: sources are often sorted by class and code may look at a prefix.
    """
    y = np.asarray(y).reshape(-1)
    index = np.arange(len(y))
    try:
        from sklearn.model_selection import train_test_split  # slow to import: loaded when needed

        train_idx, val_idx = train_test_split(index, test_size=fraction, random_state=seed, shuffle=True, stratify=y)
        return np.asarray(train_idx, np.int64), np.asarray(val_idx, np.int64)
    except ValueError:
        pass
    rng = np.random.default_rng(seed)
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        n = len(members)
        k = round(n * fraction)
        k = min(max(k, 1), n - 1) if n >= 2 else 0
        val.append(members[:k])
        train.append(members[k:])
    train_idx = rng.permutation(np.concatenate(train)) if train else np.zeros(0, np.int64)
    val_idx = rng.permutation(np.concatenate(val)) if val else np.zeros(0, np.int64)
    return train_idx.astype(np.int64), val_idx.astype(np.int64)


def stratified_subset(y: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Seeded indices of about `size` samples keeping class proportions (every class kept if possible)."""
    y = np.asarray(y).reshape(-1)
    if size >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    labels, counts = np.unique(y, return_counts=True)
    exact = counts * size / len(y)
    quota = np.floor(exact).astype(int)
    if size >= len(labels):
        quota = np.maximum(quota, 1)  # a subset missing a class would change the task
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable"):
        if quota.sum() >= size:
            break
        quota[i] += 1
    while quota.sum() > size:  # the minimum-one rule overshot: take from the largest classes
        quota[np.argmax(quota)] -= 1
    chosen = [rng.permutation(np.flatnonzero(y == label))[:q] for label, q in zip(labels, quota)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def limit_samples(dataset: Any, limit: int | None, seed: int) -> Any:
    """Keep at most `limit` training samples (stratified), and shrink validation/test alike
    (in-memory or streamed: both kinds `select` what they keep)."""
    n_train = len(dataset.y_train)
    if limit is None or n_train <= limit:
        return dataset
    factor = limit / n_train
    dataset.select("train", stratified_subset(dataset.y_train, limit, seed))
    size = max(dataset.num_classes, round(len(dataset.y_val) * factor))
    dataset.select("validation", stratified_subset(dataset.y_val, size, seed + 1))
    if dataset.y_test is not None:
        size = max(dataset.num_classes, round(len(dataset.y_test) * factor))
        dataset.select("test", stratified_subset(dataset.y_test, size, seed + 2))
    return dataset


def guess_polarity(x: np.ndarray) -> Polarity:
    """Light strokes on dark (mnist-like), dark on light (scans), or natural, from the borders.

    Only greyscale data can be "strokes"; colour data is always natural.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if len(x) == 0 or x.shape[-1] != 1:
        return "natural"
    sample = x[:: max(1, len(x) // 500), ..., 0].astype(np.float32)
    border = np.concatenate([sample[:, 0, :], sample[:, -1, :], sample[:, :, 0], sample[:, :, -1]], axis=1)
    mean = float(border.mean())
    if mean < 48:
        return "light_on_dark"
    if mean > 207:
        return "dark_on_light"
    return "natural"


def stratified_split(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int, sources: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str] | None, list[str] | None]:
    """(x_train, y_train, x_val, y_val, train_sources, val_sources): `stratified_indices` applied."""
    train, val = stratified_indices(y, fraction, seed)
    x, y = np.asarray(x), np.asarray(y)
    pick = (lambda index: [sources[i] for i in index]) if sources is not None else (lambda index: None)
    return x[train], y[train], x[val], y[val], pick(train), pick(val)


def split_array(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int, array: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Rows, Rows]:
    """`stratified_split` of the user's array named `array`, also saying where each sample of
    both parts lies in it: (x_train, y_train, x_val, y_val, train_rows, val_rows)."""
    train, val = stratified_indices(y, fraction, seed)
    x, y = np.asarray(x), np.asarray(y)
    return x[train], y[train], x[val], y[val], Rows.of(array, train), Rows.of(array, val)


def as_uint8_images(x: np.ndarray, key: str = "x") -> np.ndarray:
    """Images of any numeric dtype as uint8 (N, H, W, C), C in {1, 3}, by one stated rule.

    (N, H, W) gains a channel; RGBA drops alpha. bool → 0/255; values already within 0..255 are
    rounded (floats within 0..1 are first multiplied by 255); anything else is scaled linearly
    from its own min..max to 0..255 (e.g. 16-bit or standardised data).
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{key} must hold numbers, not {x.dtype}")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim == 4 and x.shape[-1] == 4:
        x = x[..., :3]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or min(x.shape[1:3], default=0) < 1:
        raise DatasetError(f"{key} must be images shaped (N, H, W) or (N, H, W, 1|3), got {x.shape}")
    if len(x) == 0:
        raise DatasetError(f"{key} holds no images")
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x)
    if x.dtype.kind == "b":
        return x.astype(np.uint8) * 255
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DatasetError(f"{key} contains NaN or infinite values")
    values = x.astype(np.float64)  # one working copy, changed in place: memory stays bounded
    low, high = float(values.min()), float(values.max())
    if x.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        values *= 255.0
    elif low < 0.0 or high > 255.0:
        values -= low
        values /= max(high - low, 1e-12)
        values *= 255.0
    np.round(values, out=values)
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)
