"""`npz:PATH` — NumPy arrays `x_train, y_train[, x_test, y_test]` or `x, y` (never unpickled)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from engine.config import DataOptions
from engine.datasets.base import Dataset, as_uint8_images, guess_polarity, stratified_split
from engine.errors import DatasetError

MAX_CLASSES = 10_000


def load_npz(path_text: str, options: DataOptions, seed: int) -> Dataset:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise DatasetError(f"npz file not found: {path}")
    with open(path, "rb") as f:
        magic = f.read(6)
    if not (magic.startswith(b"PK") or magic == b"\x93NUMPY"):  # np.load would try to unpickle anything else
        raise DatasetError(f"{path.name} is not a NumPy .npz file (save one with numpy.savez)")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DatasetError(f"{path.name} is a single .npy array; LayerLab needs an .npz with x_train and y_train")
        with loaded as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise DatasetError(f"{path.name} holds pickled (object) arrays, which LayerLab refuses to load for safety") from None
        raise DatasetError(f"{path.name} is not a NumPy .npz file ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"{path.name} is not a NumPy .npz file ({err})") from None
    keys = set(arrays)
    if {"x_train", "y_train"} <= keys:
        x_train, y_train = _pair(arrays, "x_train", "y_train")
        test = _pair(arrays, "x_test", "y_test") if {"x_test", "y_test"} <= keys else (None, None)
    elif {"x", "y"} <= keys:
        x_train, y_train = _pair(arrays, "x", "y")
        test = (None, None)
    else:
        raise DatasetError(f"{path.name} needs arrays x_train and y_train (or x and y); it has: {', '.join(sorted(keys)) or 'none'}")
    labels = [y_train] + ([test[1]] if test[1] is not None else [])
    num_classes = int(max(int(y.max()) for y in labels)) + 1
    if num_classes > MAX_CLASSES:
        raise DatasetError(f"{path.name}: labels go up to {num_classes - 1}; classes must be numbered 0..K-1")
    class_names = _class_names(arrays, num_classes, path.name)
    if np.unique(y_train).size < 2:
        raise DatasetError(f"{path.name}: y_train has only one class; LayerLab needs at least two")
    x_test, y_test = test
    if x_test is not None and x_test.shape[1:] != x_train.shape[1:]:
        raise DatasetError(f"{path.name}: x_test images are {x_test.shape[1:]}, x_train images {x_train.shape[1:]}")
    x_tr, y_tr, x_val, y_val, _, _ = stratified_split(x_train, y_train, options.val_split, seed)
    return Dataset(options.name, class_names, x_tr, y_tr, x_val, y_val, x_test, y_test, polarity=guess_polarity(x_train))


def _pair(arrays: dict[str, np.ndarray], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    x = as_uint8_images(arrays[x_key], x_key)
    y = np.asarray(arrays[y_key])
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)  # one-hot
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_)
                           or (np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0))):
        raise DatasetError(f"{y_key} must be integer class labels of shape (N,), got {y.dtype} {y.shape}")
    if len(y) != len(x):
        raise DatasetError(f"{x_key} has {len(x)} images but {y_key} has {len(y)} labels")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise DatasetError(f"{y_key} has negative labels; classes must be numbered 0..K-1")
    return x, y.astype(np.int32)


def _class_names(arrays: dict[str, np.ndarray], count: int, name: str) -> list[str]:
    if "class_names" not in arrays:
        return [str(i) for i in range(count)]
    raw = np.asarray(arrays["class_names"]).reshape(-1)
    names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n) for n in raw.tolist()]
    if len(names) < count:
        raise DatasetError(f"{name}: only {len(names)} class_names but labels go up to {count - 1}")
    return names
