"""Names for the classes of data that has none, typed by the user and kept beside the data.

An `.npz` file of labels 0..K-1 without a `class_names` array has classes called "0", "1"...;
the user may name them ("cat", "dog"). The names never go into the user's file: they live in a
sidecar JSON file beside it, `<file>.npz.layerlab-classes.json` (or, when that folder cannot be
written, under `$LAYERLAB_HOME/labels/`), and `load_dataset` applies them, so they are used
everywhere names appear: the Data tab, the runs trained on it, the confusion matrix, the
answers for dropped images. Data that names its classes (a class folder's sub-folders, the
built-in and Keras datasets, an .npz with `class_names`) is left as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.core.files import atomic_write_json, printable_path, read_regular_file
from engine.datasets.decisions import labels_home

SIDECAR_SUFFIX = ".layerlab-classes.json"
FORMAT = "layerlab-class-names"
MAX_SIDECAR_BYTES = 4 * 2**20
MAX_NAME = 80


def nameable(data: DataOptions) -> bool:
    """Whether the user may name the classes of `data` (an .npz file)."""
    return _npz_path(data) is not None


def names_sidecar(data: DataOptions) -> Path | None:
    """Where the names typed for `data` are kept (None for data that names its own classes)."""
    path = _npz_path(data)
    if path is None:
        return None
    beside = path.with_name(path.name + SIDECAR_SUFFIX)
    if os.path.lexists(beside) or os.access(beside.parent, os.W_OK):
        return beside
    digest = hashlib.blake2b(os.fsencode(os.path.abspath(path)), digest_size=8).hexdigest()
    return labels_home() / f"classes-{re.sub(r'[^A-Za-z0-9_.-]+', '_', path.name)[:40]}-{digest}.json"


def load_class_names(data: DataOptions) -> list[str] | None:
    """The names typed for `data`, or None when there are none; `DatasetError` naming the sidecar
    when it cannot be read."""
    path = names_sidecar(data)
    if path is None or not os.path.lexists(path):
        return None
    try:
        raw = read_regular_file(path, max_bytes=MAX_SIDECAR_BYTES, error=DatasetError, what="a class-names file")
        document = json.loads(raw.decode("utf-8"))
        names = document["names"] if isinstance(document, dict) and document.get("format") == FORMAT else None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("no list of names")
    except (OSError, ValueError, KeyError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read the class names in {printable_path(path)}: {err}") from None
    return names


def save_class_names(data: DataOptions, names: list[str], classes: int) -> Path:
    """Keep `names` (one per class, in label order) for `data`, atomically, in its sidecar; returns
    the file. `DatasetError` (one line) for names that cannot be: the wrong count, an empty or
    repeated name, data that names its own classes."""
    path = names_sidecar(data)
    if path is None:
        raise DatasetError(f"{data.name} names its classes itself")
    cleaned = [" ".join(str(name).split()) for name in names]
    if len(cleaned) != classes:
        raise DatasetError(f"give {classes} names, one per class (got {len(cleaned)})")
    for label, name in enumerate(cleaned):
        if not name:
            raise DatasetError(f"class {label} has no name")
        if len(name) > MAX_NAME:
            raise DatasetError(f"the name of class {label} is longer than {MAX_NAME} characters")
    repeated = sorted({name for name in cleaned if cleaned.count(name) > 1})
    if repeated:
        raise DatasetError(f"two classes cannot share a name: {', '.join(repeated)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"format": FORMAT, "version": 1, "dataset": data.name, "names": cleaned})
    except OSError as err:
        raise DatasetError(f"cannot write the class names to {printable_path(path)}: {err.strerror or err}") from None
    return path


def with_class_names(dataset: Any, data: DataOptions) -> Any:
    """`dataset` with the names typed for it (as loaded when there are none, or when their count no
    longer matches its classes: the file changed since)."""
    if list(dataset.class_names) != [str(i) for i in range(len(dataset.class_names))]:
        return dataset  # the data names its classes itself
    names = load_class_names(data)
    if names is None or len(names) != len(dataset.class_names):
        return dataset
    return dataclasses.replace(dataset, class_names=list(names))


def _npz_path(data: DataOptions) -> Path | None:
    kind, _, argument = data.name.partition(":")
    return Path(argument).expanduser() if kind == "npz" and argument else None
