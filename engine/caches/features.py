"""The frozen-feature cache: an object the caller owns and passes to `train(..., feature_cache=)`.

Training a head on the cached outputs of a frozen prefix (`engine.training.feature_cache`) needs
those outputs somewhere. `FeatureCache` keeps the last set in memory while it fits the memory
budget, and, when given a folder, also writes every set there, so a later run (or another
process) with the same frozen weights and the same data reads them back instead of running the
prefix again; sets too big for memory live only there and are read by rows. Features are float32,
or float16 when float32 would take more than half the memory budget (`precision="auto"`, as
before) and the values fit; the choice depends on the sizes only, never on where the set is
kept, so a set in memory and the same set on disk train identically.

Cheap to import (NumPy only): the window can make one at start-up and keep it for the session.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from engine.caches.folders import FEATURES, cache_dir, default_limit_bytes
from engine.core.memory import MemoryBudget

FORMAT_VERSION = 1
Precision = Literal["auto", "float32", "float16"]
SPLITS = ("train", "validation")
_META = "meta.json"


class FeatureOverflow(ValueError):
    """Features too large for float16: extract again in float32."""


@dataclass(eq=False)
class FeatureArray:
    """One split's features: an array in memory, or rows of a file read on demand."""

    rows: int
    row_shape: tuple[int, ...]
    dtype: np.dtype
    array: np.ndarray | None = None
    path: Path | None = None
    _fd: int | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __len__(self) -> int:
        return self.rows

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.row_shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.rows * self.row_bytes

    @property
    def in_memory(self) -> bool:
        return self.array is not None

    def read(self, index: np.ndarray) -> np.ndarray:
        """The rows at `index`, in that order."""
        index = np.asarray(index, np.int64).reshape(-1)
        if self.array is not None:
            return self.array[index]
        out = np.empty((len(index), *self.row_shape), self.dtype)
        fd = self._descriptor()
        for j, i in enumerate(index):
            _read_exact(fd, int(i) * self.row_bytes, out[j])
        return out

    def read_range(self, start: int, stop: int) -> np.ndarray:
        stop = min(stop, self.rows)
        if self.array is not None:
            return self.array[start:stop]
        out = np.empty((max(0, stop - start), *self.row_shape), self.dtype)
        if len(out):
            _read_exact(self._descriptor(), start * self.row_bytes, out)
        return out

    def load(self) -> np.ndarray:
        """All rows as one array (in memory already, or read from the file now)."""
        return self.array if self.array is not None else self.read_range(0, self.rows)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _descriptor(self) -> int:
        with self._lock:
            if self._fd is None:
                assert self.path is not None
                self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            return self._fd


@dataclass
class FeatureSet:
    """The features of the training and validation splits under one key."""

    key: str
    splits: dict[str, FeatureArray]

    def __getitem__(self, split: str) -> FeatureArray:
        return self.splits[split]

    @property
    def dtype(self) -> np.dtype:
        return next(iter(self.splits.values())).dtype

    @property
    def in_memory(self) -> bool:
        return all(a.in_memory for a in self.splits.values())

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.splits.values())


class FeatureCache:
    """Features of frozen prefixes: the last set in memory within `memory_limit_bytes`, and every
    set in `disk_dir` when one is given (sets beyond the memory limit only there). Without a
    folder, a set too big for memory is not cached (the model then trains end to end).

    Thread-safe enough for its use: one training at a time reads and writes it.
    """

    def __init__(
        self,
        memory_limit_bytes: int | None = None,
        disk_dir: str | Path | None = None,
        *,
        disk_limit_bytes: int | None = None,
        precision: Precision = "auto",
    ) -> None:
        self.memory_limit_bytes = (
            MemoryBudget.default().bytes if memory_limit_bytes is None else max(0, int(memory_limit_bytes))
        )
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.disk_limit_bytes = (
            (default_limit_bytes(FEATURES) if disk_limit_bytes is None else int(disk_limit_bytes))
            if self.disk_dir is not None
            else 0
        )
        self.precision: Precision = precision
        self._memory: FeatureSet | None = None

    @classmethod
    def default(cls, budget: MemoryBudget | None = None) -> FeatureCache:
        """In memory within the budget (default: `MemoryBudget.default()`), on disk in the user's cache folder."""
        return cls((budget or MemoryBudget.default()).bytes, cache_dir(FEATURES))

    # --- deciding ------------------------------------------------------------------------------
    def dtype_for(self, float32_bytes: int) -> np.dtype:
        if self.precision == "float16" or (self.precision == "auto" and float32_bytes > self.memory_limit_bytes // 2):
            return np.dtype(np.float16)
        return np.dtype(np.float32)

    def can_hold(self, float32_bytes: int) -> bool:
        nbytes = float32_bytes // 4 * self.dtype_for(float32_bytes).itemsize
        return nbytes <= self.memory_limit_bytes or (self.disk_dir is not None and nbytes <= self.disk_limit_bytes)

    # --- reading -------------------------------------------------------------------------------
    def get(self, key: str) -> FeatureSet | None:
        if self._memory is not None and self._memory.key == key:
            return self._memory
        found = self._open_on_disk(key)
        if found is not None and found.nbytes <= self.memory_limit_bytes:
            found = FeatureSet(key, {split: _in_memory(array) for split, array in found.splits.items()})
            self._memory = found
        return found

    def clear(self) -> None:
        """Forget the set held in memory (the folder is `engine.caches.folders.clear_caches`'s)."""
        self._memory = None

    # --- writing -------------------------------------------------------------------------------
    def writer(self, sizes: dict[str, int], row_shape: tuple[int, ...], dtype: np.dtype) -> FeatureWriter:
        """Where extraction puts its batches: memory if the set fits, the folder if there is one."""
        row_bytes = int(np.prod(row_shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        nbytes = sum(sizes.values()) * row_bytes
        memory = nbytes <= self.memory_limit_bytes
        disk = self.disk_dir is not None and nbytes <= self.disk_limit_bytes
        if not memory and not disk:
            raise ValueError("these features fit neither the memory budget nor a disk cache")
        if memory:
            self._memory = None  # free the previous set before filling the next
        return FeatureWriter(
            self,
            sizes,
            tuple(row_shape),
            np.dtype(dtype),
            memory=memory,
            folder=self._temporary_folder() if disk else None,
        )

    def _temporary_folder(self) -> Path:
        assert self.disk_dir is not None
        folder = self.disk_dir / f".tmp-{uuid.uuid4().hex}"
        folder.mkdir(parents=True)
        return folder

    def _finished(
        self,
        key: str,
        arrays: dict[str, np.ndarray] | None,
        folder: Path | None,
        sizes: dict[str, int],
        row_shape: tuple[int, ...],
        dtype: np.dtype,
    ) -> FeatureSet:
        on_disk = None
        if folder is not None:
            on_disk = self._publish(key, folder, sizes, row_shape, dtype)
        if arrays is not None:
            features = FeatureSet(key, {s: FeatureArray(len(a), row_shape, dtype, array=a) for s, a in arrays.items()})
            self._memory = features
            return features
        assert on_disk is not None
        return on_disk

    def _publish(
        self, key: str, folder: Path, sizes: dict[str, int], row_shape: tuple[int, ...], dtype: np.dtype
    ) -> FeatureSet | None:
        """Name the written folder after its key (atomically), then keep the folder under its limit."""
        assert self.disk_dir is not None
        meta = {"version": FORMAT_VERSION, "dtype": dtype.str, "row_shape": list(row_shape), "rows": sizes}
        (folder / _META).write_text(json.dumps(meta))
        target = self.disk_dir / key
        try:
            os.rename(folder, target)
        except OSError:  # another run wrote the same set first: keep theirs
            shutil.rmtree(folder, ignore_errors=True)
        _evict(self.disk_dir, self.disk_limit_bytes, keep=target)
        return self._open_on_disk(key)

    def _open_on_disk(self, key: str) -> FeatureSet | None:
        if self.disk_dir is None:
            return None
        folder = self.disk_dir / key
        try:
            meta = json.loads((folder / _META).read_text())
            dtype, row_shape = np.dtype(meta["dtype"]), tuple(int(d) for d in meta["row_shape"])
            arrays = {
                split: FeatureArray(int(meta["rows"][split]), row_shape, dtype, path=folder / f"{split}.bin")
                for split in SPLITS
            }
            if any(a.path.stat().st_size < a.nbytes for a in arrays.values()):
                return None
            os.utime(folder / _META)  # recently used: evicted last
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return FeatureSet(key, arrays)


class FeatureWriter:
    """Receives extracted features batch by batch, into memory and/or a temporary folder."""

    def __init__(
        self,
        cache: FeatureCache,
        sizes: dict[str, int],
        row_shape: tuple[int, ...],
        dtype: np.dtype,
        *,
        memory: bool,
        folder: Path | None,
    ) -> None:
        self.cache, self.sizes, self.row_shape, self.dtype = cache, dict(sizes), row_shape, dtype
        self.arrays = {s: np.empty((n, *row_shape), dtype) for s, n in sizes.items()} if memory else None
        self.folder = folder
        self.written = {s: 0 for s in sizes}
        self._fds = (
            {s: os.open(folder / f"{s}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) for s in sizes}
            if folder is not None
            else {}
        )

    def append(self, split: str, features: np.ndarray) -> None:
        rows = np.asarray(features).astype(self.dtype, copy=False)
        if self.dtype == np.float16 and not np.isfinite(rows).all() and np.isfinite(features).all():
            raise FeatureOverflow("features beyond float16's range")
        start = self.written[split]
        if self.arrays is not None:
            self.arrays[split][start : start + len(rows)] = rows
        if split in self._fds:
            data = memoryview(np.ascontiguousarray(rows)).cast("B")
            while len(data):
                data = data[os.write(self._fds[split], data) :]
        self.written[split] = start + len(rows)

    def finish(self, key: str) -> FeatureSet:
        """The features written (fewer rows than planned when files were found unreadable)."""
        self._close()
        arrays = {s: a[: self.written[s]] for s, a in self.arrays.items()} if self.arrays is not None else None
        return self.cache._finished(key, arrays, self.folder, self.written, self.row_shape, self.dtype)

    def abort(self) -> None:
        self._close()
        self.arrays = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}


def _in_memory(array: FeatureArray) -> FeatureArray:
    loaded = array.load()
    array.close()
    return FeatureArray(len(loaded), array.row_shape, array.dtype, array=loaded)


def _read_exact(fd: int, offset: int, out: np.ndarray) -> None:
    view = memoryview(out).cast("B")
    while len(view):
        if hasattr(os, "preadv"):
            count = os.preadv(fd, [view], offset)
        else:
            os.lseek(fd, offset, os.SEEK_SET)
            count = os.readv(fd, [view])
        if count <= 0:
            raise OSError("the feature file is shorter than its listing says")
        view, offset = view[count:], offset + count


def _evict(folder: Path, limit: int, keep: Path) -> None:
    """Delete the least recently used sets until the folder is within `limit` (never `keep`)."""
    entries = []
    for entry in folder.iterdir():
        if entry.name.startswith(".") or not entry.is_dir():
            if entry.name.startswith(".tmp-") and time.time() - entry.stat().st_mtime > 3600:
                shutil.rmtree(entry, ignore_errors=True)  # left by a process that died
            continue
        try:
            used = (entry / _META).stat().st_mtime
        except OSError:
            used = 0.0
        entries.append((used, entry, sum(p.stat().st_size for p in entry.iterdir())))
    total = sum(size for _, _, size in entries)
    for _, entry, size in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if entry != keep:
            shutil.rmtree(entry, ignore_errors=True)
            total -= size
