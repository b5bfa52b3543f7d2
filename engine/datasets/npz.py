"""`npz:PATH` — NumPy arrays `x_train, y_train[, x_test, y_test]` or `x, y` (never unpickled).

An `.npz` is a zip archive of `.npy` files, and both layers let a few bytes claim gigabytes: a
`.npy` header may declare a 100 GB array, a zip member may inflate a thousandfold. So before
NumPy allocates anything, each member LayerLab will read (`ARRAY_KEYS`, nothing else) is checked
from the zip directory and from its own `.npy` header, read with `numpy.lib.format` off the
member's stream: compression ratio, object dtypes (pickles), and shape × item size against a
memory budget (`memory_budget_bytes`). Refusals name the array and the file.
"""

from __future__ import annotations

import math
import os
import resource
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.core.files import check_regular_file, format_bytes, printable_name
from engine.datasets.base import Dataset, Rows, as_uint8_images, guess_polarity, split_array

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test", "x", "y", "class_names")
MAX_CLASSES = 10_000
MAX_NPZ_FILE_BYTES = 1 << 40
# A member that inflates to more than `BOMB_FLOOR_BYTES` and over `MAX_RATIO` times its packed
# size is a zip bomb: image data compresses far less than that.
BOMB_FLOOR_BYTES = 64 * 2**20
MAX_RATIO = 200
MIN_BUDGET_BYTES = 256 * 2**20
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    NotImplementedError,
    RuntimeError,
)


def memory_budget_bytes() -> int:
    """The most an `.npz` may declare in all: `LAYERLAB_MAX_ARRAY_MB` if set, else a quarter of
    the machine's memory (or of the process's address-space limit, when one is set), leaving room
    for the conversions to uint8 and the split that follow."""
    override = os.environ.get("LAYERLAB_MAX_ARRAY_MB")
    if override:
        try:
            return max(1, int(float(override) * 2**20))
        except ValueError:
            pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        memory = 16 * 2**30
    try:
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            memory = min(memory, limit)
    except (ImportError, OSError, ValueError):
        pass
    return max(MIN_BUDGET_BYTES, memory // 4)


def _budget_text(budget: int) -> str:
    source = (
        "LAYERLAB_MAX_ARRAY_MB"
        if os.environ.get("LAYERLAB_MAX_ARRAY_MB")
        else "a quarter of the memory; set LAYERLAB_MAX_ARRAY_MB to change it"
    )
    return f"LayerLab's limit is {format_bytes(budget)} ({source})"


@dataclass(frozen=True)
class ArrayHeader:
    """What a member's `.npy` header declares, read before any data."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def load_npz(path_text: str, options: DataOptions, seed: int) -> Dataset:
    path = Path(path_text).expanduser()
    arrays = read_npz_arrays(path)
    name = printable_name(path)
    keys = set(arrays)
    if {"x_train", "y_train"} <= keys:
        x_train, y_train = _pair(arrays, "x_train", "y_train", name)
        test = _pair(arrays, "x_test", "y_test", name) if {"x_test", "y_test"} <= keys else (None, None)
        array = "x_train"
    elif {"x", "y"} <= keys:
        x_train, y_train = _pair(arrays, "x", "y", name)
        test = (None, None)
        array = "x"
    else:
        held = ", ".join(sorted(member_names(path))) or "none"
        raise DatasetError(f"{name} needs arrays x_train and y_train (or x and y); it has: {held}")
    labels = [y_train] + ([test[1]] if test[1] is not None else [])
    class_names = _class_names(arrays, labels, name)
    if np.unique(y_train).size < 2:
        raise DatasetError(f"{name}: y_train has only one class; LayerLab needs at least two")
    x_test, y_test = test
    if x_test is not None and x_test.shape[1:] != x_train.shape[1:]:
        raise DatasetError(f"{name}: x_test images are {x_test.shape[1:]}, x_train images {x_train.shape[1:]}")
    x_tr, y_tr, x_val, y_val, train_rows, val_rows = split_array(x_train, y_train, options.val_split, seed, array)
    return Dataset(
        options.name,
        class_names,
        x_tr,
        y_tr,
        x_val,
        y_val,
        x_test,
        y_test,
        polarity=guess_polarity(x_train),
        train_rows=train_rows,
        val_rows=val_rows,
        test_rows=None if x_test is None else Rows.of("x_test", np.arange(len(x_test))),
    )


def read_npz_arrays(path: Path, budget: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of `ARRAY_KEYS` an `.npz` holds, each size checked before it is allocated."""
    check_regular_file(path, max_bytes=MAX_NPZ_FILE_BYTES, error=DatasetError, what="an .npz file")
    name = printable_name(path)
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise DatasetError(f"{name} is a single .npy array; LayerLab needs an .npz with x_train and y_train")
    if not magic.startswith(b"PK"):  # np.load would try to unpickle anything else
        raise DatasetError(f"{name} is not a NumPy .npz file (save one with numpy.savez)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {
                info.filename[:-4]: info
                for info in archive.infolist()
                if info.filename.endswith(".npy") and info.filename[:-4] in ARRAY_KEYS
            }
            headers = [_check_member(archive, info, key, name) for key, info in members.items()]
            _check_budget(headers, name, memory_budget_bytes() if budget is None else budget)
            return {header.key: _read_array(archive, members[header.key], header, name) for header in headers}
    except DatasetError:
        raise
    except MemoryError:
        raise DatasetError(f"{name} is too big to load in the memory available") from None
    except _READ_ERRORS as err:
        raise DatasetError(f"{name} is not a NumPy .npz file or is damaged ({_first_line(err)})") from None


def member_names(path: Path) -> list[str]:
    """The array names an `.npz` lists (from its zip directory; nothing is read)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [info.filename.removesuffix(".npy") for info in archive.infolist()]
    except _READ_ERRORS:
        return []


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, name: str) -> ArrayHeader:
    """Check a member's packing and its `.npy` header (never its data)."""
    if info.file_size > BOMB_FLOOR_BYTES and info.file_size > MAX_RATIO * max(1, info.compress_size):
        raise DatasetError(
            f"{key} in {name} would inflate from {format_bytes(info.compress_size)} to "
            f"{format_bytes(info.file_size)} (a zip bomb?); LayerLab refuses it"
        )
    with archive.open(info) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise DatasetError(f"{key} in {name} uses .npy format {version}, which LayerLab does not read")
        except DatasetError:
            raise
        except Exception as err:  # NumPy parses the header text: any failure means a damaged header
            raise DatasetError(f"{key} in {name} is not a valid NumPy array ({_first_line(err)})") from None
    if dtype.hasobject:
        raise DatasetError(f"{name} holds pickled (object) arrays ({key}), which LayerLab refuses to load for safety")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise DatasetError(f"{key} in {name} is a structured array; LayerLab needs plain numbers")
    header = ArrayHeader(key, tuple(int(d) for d in shape), dtype)
    return header


def _check_budget(headers: list[ArrayHeader], name: str, budget: int) -> None:
    for header in headers:
        if header.nbytes > budget:
            raise DatasetError(
                f"{header.key} in {name} would need {format_bytes(header.nbytes)} "
                f"({'×'.join(map(str, header.shape))} {header.dtype}); {_budget_text(budget)}"
            )
    total = sum(header.nbytes for header in headers)
    if total > budget:
        raise DatasetError(f"the arrays in {name} would need {format_bytes(total)} in all; {_budget_text(budget)}")


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, header: ArrayHeader, name: str) -> np.ndarray:
    """Read a member whose header passed the checks; its data must be all there."""
    if header.nbytes > info.file_size:
        raise DatasetError(
            f"{header.key} in {name} declares {format_bytes(header.nbytes)} of data but holds "
            f"{format_bytes(info.file_size)}: the file is damaged"
        )
    with archive.open(info) as stream:
        try:
            return np.lib.format.read_array(stream, allow_pickle=False)
        except ValueError as err:
            raise DatasetError(f"{header.key} in {name} is damaged ({_first_line(err)})") from None


def _pair(arrays: dict[str, np.ndarray], x_key: str, y_key: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(images as uint8, labels as int32) of one split; refusals name the file."""
    try:
        return _checked_pair(arrays, x_key, y_key)
    except DatasetError as err:
        raise DatasetError(f"{name}: {err}") from None


def _checked_pair(arrays: dict[str, np.ndarray], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    x = as_uint8_images(arrays[x_key], x_key)
    y = np.asarray(arrays[y_key])
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)  # one-hot
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or not (
        np.issubdtype(y.dtype, np.integer)
        or np.issubdtype(y.dtype, np.bool_)
        or (np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and np.all(np.mod(y, 1) == 0))
    ):
        raise DatasetError(f"{y_key} must be integer class labels of shape (N,), got {y.dtype} {y.shape}")
    if len(y) != len(x):
        raise DatasetError(f"{x_key} has {len(x)} images but {y_key} has {len(y)} labels")
    if len(y) == 0:
        raise DatasetError(f"{y_key} holds no labels")
    if y.min() < 0:
        raise DatasetError(f"{y_key} has negative labels; classes must be numbered 0..K-1")
    if y.max() > np.iinfo(np.int32).max:
        raise DatasetError(f"{y_key} has labels up to {y.max()}; classes must be numbered 0..K-1")
    return x, y.astype(np.int32)


def _class_names(arrays: dict[str, np.ndarray], labels: list[np.ndarray], name: str) -> list[str]:
    """The class names: the file's `class_names` (labels may then skip a class that has no
    samples), else "0".."K-1", and then the labels must be exactly 0..K-1 without gaps: labels
    0, 1, 2 and 5000 are a mistake, not a 5001-class problem."""
    found = np.unique(np.concatenate(labels))
    top = int(found[-1])
    if "class_names" in arrays:
        raw = np.asarray(arrays["class_names"]).reshape(-1)
        if len(raw) > MAX_CLASSES:
            raise DatasetError(f"{name}: {len(raw):,} class_names; LayerLab handles at most {MAX_CLASSES:,} classes")
        try:
            names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in raw.tolist()]
        except (ValueError, SystemError):  # code points beyond Unicode in a 'U' array
            raise DatasetError(f"{name}: class_names is not valid text") from None
        if len(names) <= top:
            raise DatasetError(f"{name}: only {len(names)} class_names but labels go up to {top}")
        return names
    if top + 1 > MAX_CLASSES:
        raise DatasetError(
            f"{name}: labels go up to {top}; classes must be numbered 0..K-1 "
            f"(LayerLab handles at most {MAX_CLASSES:,} classes); labels found: {_listing(found)}"
        )
    if len(found) != top + 1:
        raise DatasetError(
            f"{name}: labels must be numbered 0..K-1 without gaps, but the {len(found)} labels found are "
            f"{_listing(found)}; add a class_names array if some classes really have no samples"
        )
    return [str(i) for i in range(top + 1)]


def _listing(values: np.ndarray, limit: int = 8) -> str:
    shown = [str(int(v)) for v in values[:limit]]
    if len(values) > limit:
        shown.append(f"… {int(values[-1])}")
    return ", ".join(shown)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
