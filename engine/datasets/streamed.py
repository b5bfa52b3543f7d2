"""A class folder as a dataset that streams: it holds file names and labels, never all its pixels.

`FolderDataset` answers everything `engine.datasets.base.Dataset` answers (class names, counts,
input shape, labels, validation sources, skipped files, thumbnails, TensorFlow pipelines), but its
`x_train`, `x_val` and `x_test` are `ImageFiles`: lazy sequences that decode an image when it is
indexed, never the whole split at once unless asked for explicitly (`np.asarray`, refused beyond
the memory budget). Training reads `batches()` or `tf_dataset()`, which decode in parallel
through the disk cache, so a folder of any size trains in bounded memory, and its second epoch
and second run read decoded pixels back instead of decoding again.

A file whose header looked fine may still fail to decode (data damaged further in). The pass
that meets it drops it from its split and adds it to `skipped`; split sizes, labels and
validation sources shrink with it, and a cached failure skips it at the next load.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from engine.caches.images import ImageStore
from engine.core.errors import DatasetError, ImageError
from engine.core.files import format_bytes
from engine.core.memory import MemoryBudget
from engine.datasets.base import SPLIT_ALIASES, ImageBatch, Polarity
from engine.datasets.decoding import Loaded, as_channels, decode_file, load_in_order
from engine.datasets.folder_files import ImageFile
from engine.images.decode import DEFAULT_RESAMPLE, LEGACY_RESAMPLE, Resample

Progress = Callable[[int, int, int, int], None]  # (done, total, decoded, skipped)
LOAD_AHEAD_BATCHES = 2  # decode up to two batches ahead of the consumer


class FolderDataset:
    """The files of a class folder, split into train/validation[/test], decoded when read."""

    streams: ClassVar[bool] = True

    def __init__(
        self,
        name: str,
        class_names: Sequence[str],
        splits: dict[str, list[ImageFile]],
        *,
        image_size: int,
        store: ImageStore | None,
        skipped: list[tuple[str, str]] | None = None,
        budget: MemoryBudget | None = None,
        resample: Resample = DEFAULT_RESAMPLE,
    ) -> None:
        self.name = name
        self.class_names = [str(c) for c in class_names]
        self.image_size = int(image_size)
        self.resample: Resample = resample  # how each file is shrunk (`engine.images.decode`)
        if store is not None and store.resample != resample:
            raise ValueError(f"the image store holds {store.resample!r} images, not {resample!r} ones")
        self.store = store if store is not None and store.cache.enabled else None
        self.skipped: list[tuple[str, str]] = list(skipped or [])
        self.budget = budget or MemoryBudget.default()
        self.polarity: Polarity = "natural"
        self._splits = {"train": list(splits.get("train", [])), "validation": list(splits.get("validation", []))}
        if splits.get("test"):
            self._splits["test"] = list(splits["test"])
        every = [f for files in self._splits.values() for f in files]
        self.channels = 3 if any(f.channels == 3 for f in every) else 1
        self._lock = threading.Lock()
        self._bad: set[bytes] = set()  # keys of files found unreadable while streaming
        self._labels: dict[str, tuple[list[ImageFile], np.ndarray]] = {}
        if any(not 0 <= f.label < self.num_classes for f in every):
            raise DatasetError(f"{name}: a label is outside 0..{self.num_classes - 1}")

    def load(self, files: Sequence[ImageFile], positions: Iterable[int], **options: Any) -> Iterator[Loaded]:
        """`engine.datasets.decoding.load_in_order` at this dataset's size and resample rule, through
        its image cache."""
        return load_in_order(
            files, positions, size=self.image_size, resample=self.resample, store=self.store, **options
        )

    # --- what the window and the trainer read -------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.image_size, self.image_size, self.channels

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def counts(self) -> dict[str, int]:
        return {
            "train": len(self._splits["train"]),
            "validation": len(self._splits["validation"]),
            "test": len(self._splits.get("test", [])),
        }

    def files(self, split: str) -> list[ImageFile]:
        """The files of a split, in order (a snapshot: a later discard makes a new list)."""
        return self._splits[self._key(split)]

    @property
    def x_train(self) -> ImageFiles:
        return ImageFiles(self, self._splits["train"])

    @property
    def x_val(self) -> ImageFiles:
        return ImageFiles(self, self._splits["validation"])

    @property
    def x_test(self) -> ImageFiles | None:
        return ImageFiles(self, self._splits["test"]) if "test" in self._splits else None

    @property
    def y_train(self) -> np.ndarray:
        return self._labels_of("train")

    @property
    def y_val(self) -> np.ndarray:
        return self._labels_of("validation")

    @property
    def y_test(self) -> np.ndarray | None:
        return self._labels_of("test") if "test" in self._splits else None

    @property
    def val_sources(self) -> list[str]:
        return [f.path for f in self._splits["validation"]]

    def with_splits(self, splits: dict[str, list[ImageFile]]) -> FolderDataset:
        """A new dataset over the same files and caches with other splits (test carve, label decisions)."""
        rebuilt = type(self)(
            self.name,
            self.class_names,
            splits,
            image_size=self.image_size,
            store=self.store,
            skipped=list(self.skipped),
            budget=self.budget,
            resample=self.resample,
        )
        rebuilt.polarity = self.polarity
        return rebuilt

    @property
    def train_sources(self) -> list[str]:
        return [f.path for f in self._splits["train"]]

    @property
    def test_sources(self) -> list[str] | None:
        return [f.path for f in self._splits["test"]] if "test" in self._splits else None

    def split(self, split: str) -> tuple[ImageFiles, np.ndarray]:
        key = self._key(split)
        return ImageFiles(self, self._splits[key]), self._labels_of(key)

    def fingerprint(self) -> str:
        """Changes whenever a file (path, size, times), a label, the split or the image size does."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((self.image_size, self.channels, self.class_names)).encode())
        if self.resample != LEGACY_RESAMPLE:  # the features of runs made before the rule stay valid
            digest.update(self.resample.encode())
        for split in sorted(self._splits):
            files = self._splits[split]
            digest.update(f"{split}:{len(files)}".encode())
            for f in files:
                digest.update(f.key)
                digest.update(f.label.to_bytes(4, "little"))
        return digest.hexdigest()

    # --- pixels ---------------------------------------------------------------------------------
    def batches(
        self, split: str, batch_size: int, *, shuffle: bool = False, seed: Any = 0, cancel: Any = None
    ) -> Iterator[ImageBatch]:
        """(uint8 images, int32 labels, positions) batches of a split, decoded in parallel (or read
        from the cache) and stored in the cache as they go; shuffled by `seed` if asked.

        `positions` index the split as it was when the pass began; a file that fails to decode is
        left out of the batches, dropped from the split and added to `skipped`.
        """
        key = self._key(split)
        files = self._splits[key]
        order = np.random.default_rng(seed).permutation(len(files)) if shuffle else range(len(files))
        return self._stream(key, files, order, batch_size, cancel)

    def _stream(
        self, key: str, files: list[ImageFile], order: Any, batch_size: int, cancel: Any = None
    ) -> Iterator[ImageBatch]:
        """Batches of `files` (a snapshot of split `key`) in `order`; files found unreadable since
        the snapshot was taken are passed over."""
        size = max(1, int(batch_size))
        batch = _BatchBuffer(size, self.input_shape)
        order = [i for i in order if files[i].key not in self._bad]
        try:
            for loaded in self.load(files, order, cancel=cancel, ahead=LOAD_AHEAD_BATCHES * size):
                if loaded.image is None:
                    self._discard(key, files[loaded.position], loaded.reason)
                    batch.skipped += 1
                    continue
                batch.add(
                    as_channels(loaded.image, self.channels),
                    files[loaded.position].label,
                    loaded.position,
                    loaded.decoded,
                )
                if batch.full:
                    yield batch.take()
            if batch.count or batch.skipped:
                yield batch.take()
        finally:
            if self.store is not None:
                self.store.flush()

    def tf_dataset(self, split: str, batch_size: int, *, shuffle: bool = False, seed: int = 0) -> Any:
        """A `tf.data.Dataset` of (float32 images 0..255, int32 labels) batches, streamed.

        Each iteration is one pass (one epoch). TensorFlow shuffles the order, exactly as it
        shuffles an in-memory dataset with the same seed (a new order every epoch), so a folder
        and the same images held in memory train identically.
        """
        # TensorFlow: imported here, so importing this module stays cheap
        import tensorflow as tf

        key = self._key(split)
        files = self._splits[key]
        height, width, channels = self.input_shape

        def generate(order: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for batch in self._stream(key, files, order, batch_size):
                if len(batch.labels):
                    yield batch.images, batch.labels

        orders = tf.data.Dataset.range(len(files))
        if shuffle:
            orders = orders.shuffle(max(1, len(files)), seed=seed, reshuffle_each_iteration=True)
        orders = orders.batch(max(1, len(files)))  # one element per pass: that epoch's order
        signature = (tf.TensorSpec((None, height, width, channels), tf.uint8), tf.TensorSpec((None,), tf.int32))
        data = orders.flat_map(
            lambda order: tf.data.Dataset.from_generator(generate, args=(order,), output_signature=signature)
        )
        if self._all_cached(files):
            # Every image is in the cache, so no file can drop out: tell Keras how many batches
            # a pass has, and it iterates exactly as it does an in-memory dataset.
            data = data.apply(tf.data.experimental.assert_cardinality(math.ceil(len(files) / max(1, int(batch_size)))))
        data = data.map(lambda images, labels: (tf.cast(images, tf.float32), labels))
        return data.prefetch(2)  # a couple of batches: each may be megabytes

    def prepare(self, cancel: Any = None, on_progress: Progress | None = None) -> bool:
        """Decode into the disk cache every training and validation image it lacks, in parallel,
        so that every epoch reads the cache; unreadable files are found here. False (nothing
        done) when the images would not fit the cache: then every epoch decodes as it goes."""
        store = self.store
        if store is None:
            return False
        missing = {
            split: [i for i, f in enumerate(self._splits[split]) if store.channels(f.key) is None]
            for split in ("train", "validation")
        }
        total = sum(len(positions) for positions in missing.values())
        if not total:
            return True
        pixels = self.image_size * self.image_size
        needed = sum(
            pixels * self._splits[split][i].channels for split, positions in missing.items() for i in positions
        )
        if not store.room_for(needed):
            return False
        done = decoded = skipped = 0
        try:
            for split, positions in missing.items():
                files = self._splits[split]
                for loaded in self.load(files, positions, cancel=cancel, ahead=64):
                    done += 1
                    decoded += loaded.decoded
                    if loaded.image is None:
                        self._discard(split, files[loaded.position], loaded.reason)
                        skipped += 1
                    if on_progress is not None:
                        on_progress(done, total, decoded, skipped)
        finally:
            store.flush()
        return True

    def samples(self, per_class: int) -> dict[int, np.ndarray]:
        """The first `per_class` readable training images of each class: only those few files are
        decoded (or read from the cache)."""
        files = self._splits["train"]
        by_class: dict[int, list[int]] = {label: [] for label in range(self.num_classes)}
        for position, f in enumerate(files):
            if len(by_class[f.label]) < 4 * max(1, per_class):  # spares for unreadable files
                by_class[f.label].append(position)
        return {label: self._first_readable(files, positions, per_class) for label, positions in by_class.items()}

    def image(self, file: ImageFile) -> np.ndarray:
        """One file's training pixels; `DatasetError` with the reason when it cannot be decoded."""
        cached = self.store.read(file.key) if self.store is not None else None
        if cached is None:
            try:
                cached = decode_file(file.path, self.image_size, self.resample)
            except ImageError as err:
                raise DatasetError(str(err)) from None
        return as_channels(cached, self.channels)

    # --- changes ---------------------------------------------------------------------------------
    def select(self, split: str, index: np.ndarray) -> None:
        """Keep only the files at `index` of a split (`limit_samples`)."""
        key = self._key(split)
        with self._lock:
            files = self._splits[key]
            self._splits[key] = [files[int(i)] for i in index]

    def _discard(self, split: str, file: ImageFile, reason: str) -> None:
        with self._lock:
            if file.key in self._bad:
                return
            self._bad.add(file.key)
            self._splits[split] = [f for f in self._splits[split] if f.key != file.key]
            self.skipped.append((file.path, reason))

    def _labels_of(self, split: str) -> np.ndarray:
        files = self._splits[split]
        known = self._labels.get(split)
        if known is None or known[0] is not files:
            known = (files, np.fromiter((f.label for f in files), np.int32, len(files)))
            self._labels[split] = known
        return known[1]

    def _all_cached(self, files: list[ImageFile]) -> bool:
        return self.store is not None and all(self.store.channels(f.key) is not None for f in files)

    def _first_readable(self, files: list[ImageFile], positions: list[int], wanted: int) -> np.ndarray:
        images = []
        for loaded in self.load(files, positions[: 4 * max(1, wanted)], ahead=max(1, wanted), write=False):
            if loaded.image is None:
                self._discard("train", files[loaded.position], loaded.reason)
            elif len(images) < wanted:
                images.append(as_channels(loaded.image, self.channels))
            if len(images) >= wanted:
                break
        return np.stack(images) if images else np.zeros((0, *self.input_shape), np.uint8)

    def _key(self, split: str) -> str:
        key = SPLIT_ALIASES.get(split)
        if key is None:
            raise DatasetError(f"unknown split {split!r}: use train, validation or test")
        if key not in self._splits:
            raise DatasetError(f"{self.name} has no {key} split")
        return key


class _BatchBuffer:
    """Fills one batch at a time; each batch gets its own arrays (the consumer may keep them)."""

    def __init__(self, size: int, shape: tuple[int, int, int]) -> None:
        self.size, self.shape = size, shape
        self._new()

    def _new(self) -> None:
        self.images = np.empty((self.size, *self.shape), np.uint8)
        self.labels = np.empty(self.size, np.int32)
        self.positions = np.empty(self.size, np.int64)
        self.count = self.decoded = self.skipped = 0

    @property
    def full(self) -> bool:
        return self.count == self.size

    def add(self, image: np.ndarray, label: int, position: int, decoded: bool) -> None:
        self.images[self.count] = image
        self.labels[self.count] = label
        self.positions[self.count] = position
        self.count += 1
        self.decoded += int(decoded)

    def take(self) -> ImageBatch:
        n = self.count
        batch = ImageBatch(self.images[:n], self.labels[:n], self.positions[:n], self.decoded, self.skipped)
        self._new()
        return batch


class ImageFiles:
    """The images of one split of a folder dataset, decoded when read: a lazy stand-in for the
    (N, H, W, C) uint8 array an in-memory dataset holds.

    `files[i]` decodes one image; `files[a:b]` or `files[index_array]` is another lazy selection;
    iterating decodes in order, in parallel; `np.asarray(files)` decodes them all into one array,
    refused beyond the dataset's memory budget.
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, dataset: FolderDataset, files: list[ImageFile]) -> None:
        self._dataset = dataset
        self._files = files

    def __len__(self) -> int:
        return len(self._files)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self._files), *self._dataset.input_shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape))

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self._files]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self._dataset.image(self._files[int(index)])
        if isinstance(index, slice):
            return ImageFiles(self._dataset, self._files[index])
        picked = np.asarray(index)
        if picked.dtype == bool:
            picked = np.flatnonzero(picked)
        if picked.ndim != 1 or not np.issubdtype(picked.dtype, np.integer):
            raise TypeError("folder images are indexed by an integer, a slice or a 1-D index array")
        return ImageFiles(self._dataset, [self._files[int(i)] for i in picked])

    def __iter__(self) -> Iterator[np.ndarray]:
        dataset = self._dataset
        for loaded in dataset.load(self._files, range(len(self._files)), write=False):
            if loaded.image is None:
                raise DatasetError(loaded.reason)
            yield as_channels(loaded.image, dataset.channels)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if not self._dataset.budget.fits(self.nbytes):
            raise DatasetError(
                f"{len(self)} images of {self._dataset.name} would take {format_bytes(self.nbytes)}, "
                f"more than the memory budget ({self._dataset.budget}); read them in batches"
            )
        out = np.empty(self.shape, np.uint8)
        for i, image in enumerate(self):
            out[i] = image
        return out if dtype is None else out.astype(dtype)
