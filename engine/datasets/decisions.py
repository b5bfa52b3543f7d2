"""The user's verdicts on suspicious labels, kept beside the dataset and honoured by training.

A decision either excludes a sample or gives it another class. It never touches the user's
files: it lives in a sidecar JSON file that training reads.

- a class folder: `<folder>/.layerlab-labels.json`, samples named by their path relative to the
  folder (the folder can move; a hidden file at the top is no class and is never read as data);
- an `.npz` file: `<file>.npz.layerlab-labels.json` beside it;
- built-in and Keras datasets: `$LAYERLAB_HOME/labels/<name>.json`.

When the folder beside the data cannot be written (a read-only share), the sidecar goes to
`$LAYERLAB_HOME/labels/` under a name derived from the data's path, and is read from there.

Samples of folder data are keyed by file, and samples of array data (an `.npz`, a Keras dataset,
the digits) by the array and row of the user's data before any split (`{"array": "x_train",
"row": 1234}`): both are stable, whatever the validation split, sample limit or seed. Decisions
saved before rows were recorded are keyed by (split, index) into the split as loaded, which
depends on how the data was split: the sidecar records that split (validation fraction, sample
limit, seed) and training applies those keys only under the same split, saying so otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from engine.config import DataOptions, ExperimentConfig
from engine.core.errors import ConfigError, DatasetError
from engine.core.files import atomic_write_json, printable_path, read_regular_file
from engine.runs.folders import default_runs_root

SIDECAR_SUFFIX = ".layerlab-labels.json"
FOLDER_SIDECAR = ".layerlab-labels.json"
FORMAT = "layerlab-label-decisions"
FORMAT_VERSION = 1
MAX_SIDECAR_BYTES = 64 * 2**20
SPLITS = ("train", "validation", "test")


class RowKey(NamedTuple):
    """A sample of array data by the array and row of the user's data (stable across splits)."""

    array: str
    row: int


Key = str | RowKey | tuple[str, int]  # a file path (folder data), an array's row, or (split, index)


@dataclass
class LabelDecisions:
    """Samples to leave out of training and samples to move to another class (by class name).

    `seed` is the training seed of the split that (split, index) keys index (the seed
    `find_label_issues` ran with); keys that are file paths do not depend on it.
    """

    exclude: set[Key] = field(default_factory=set)
    relabel: dict[Key, str] = field(default_factory=dict)
    seed: int = 0

    def __len__(self) -> int:
        return len(self.exclude) + len(self.relabel)


# --- where the sidecar lives ------------------------------------------------------------------------
def _kind_and_path(data: DataOptions) -> tuple[str, Path | None]:
    kind, _, argument = data.name.partition(":")
    if kind in ("folder", "npz") and argument:
        return kind, Path(argument).expanduser()
    return "builtin", None


def labels_home() -> Path:
    """`$LAYERLAB_HOME/labels` (beside the runs folder)."""

    return default_runs_root().parent / "labels"


def _home_sidecar(data: DataOptions) -> Path:
    kind, path = _kind_and_path(data)
    if path is None:
        return labels_home() / (re.sub(r"[^A-Za-z0-9_.-]+", "_", data.name) + ".json")
    digest = hashlib.blake2b(os.fsencode(os.path.abspath(path)), digest_size=8).hexdigest()
    return labels_home() / f"{kind}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', path.name)[:40]}-{digest}.json"


def sidecar_path(data: DataOptions) -> Path:
    """Where the decisions about `data` are read from and written to."""
    kind, path = _kind_and_path(data)
    if path is None:
        return _home_sidecar(data)
    beside = path / FOLDER_SIDECAR if kind == "folder" else path.with_name(path.name + SIDECAR_SUFFIX)
    if os.path.lexists(beside) or os.access(beside.parent, os.W_OK):
        return beside
    return _home_sidecar(data)


def folder_root(data: DataOptions) -> Path | None:
    kind, path = _kind_and_path(data)
    return path if kind == "folder" else None


def _split_signature(data: DataOptions, seed: int) -> dict[str, Any]:
    return {"val_split": data.val_split, "limit": data.limit, "seed": int(seed)}


# --- reading and writing --------------------------------------------------------------------------------
def load_decisions(data: DataOptions) -> LabelDecisions:
    """The decisions saved for `data` (empty when there are none); `DatasetError` naming the
    sidecar when it cannot be read."""
    return _load(sidecar_path(data), data)[0]


def _load(path: Path, data: DataOptions) -> tuple[LabelDecisions, dict[str, Any] | None]:
    if not os.path.lexists(path):
        return LabelDecisions(), None

    raw = read_regular_file(path, max_bytes=MAX_SIDECAR_BYTES, error=DatasetError, what="a label-decisions file")
    name = printable_path(path)
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DatasetError(
            f"{name} is not valid JSON: fix or delete it (it holds LayerLab's label decisions)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DatasetError(f"{name} is not a LayerLab label-decisions file")
    root = folder_root(data)
    try:
        exclude = {_key_from_json(entry, root) for entry in document.get("exclude", [])}
        relabel = {_key_from_json(entry, root): _label(entry) for entry in document.get("relabel", [])}
        split = document.get("split") or {}
        seed = int(split.get("seed", 0))
    except (TypeError, ValueError, AttributeError) as err:
        raise DatasetError(f"{name}: {err}") from None
    return LabelDecisions(exclude, relabel, seed), split


def _key_from_json(entry: Any, root: Path | None) -> Key:
    if not isinstance(entry, dict):
        raise ValueError("each decision must be an object")
    if "path" in entry:
        if not isinstance(entry["path"], str):
            raise ValueError("a decision's path must be text")
        return str(root / entry["path"]) if root is not None and not os.path.isabs(entry["path"]) else entry["path"]
    if "array" in entry:
        array, row = entry.get("array"), entry.get("row")
        if not isinstance(array, str) or not _is_count(row):
            raise ValueError("a decision about an array's row needs the array's name and a row (0 or more)")
        return RowKey(array, row)
    split, index = entry.get("split"), entry.get("index")
    if split not in SPLITS or not _is_count(index):
        raise ValueError(f"a decision needs a path, an array and a row, or a split ({', '.join(SPLITS)}) and an index")
    return (split, index)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _label(entry: dict[str, Any]) -> str:
    label = entry.get("label")
    if not isinstance(label, str):
        raise ValueError("a relabel decision needs the new class name as text")
    return label


def save_decisions(data: DataOptions, decisions: LabelDecisions) -> Path:
    """Write the decisions about `data` atomically into its sidecar (see the module docstring);
    returns the file. Never writes anything else beside the data."""

    path = sidecar_path(data)
    root = folder_root(data)
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "dataset": data.name,
        "split": _split_signature(data, decisions.seed),
        "exclude": [_key_to_json(key, root) for key in sorted(decisions.exclude, key=_order)],
        "relabel": [
            _key_to_json(key, root) | {"label": label}
            for key, label in sorted(decisions.relabel.items(), key=lambda kv: _order(kv[0]))
        ],
    }
    try:
        atomic_write_json(path, document)
    except OSError as err:
        raise DatasetError(
            f"cannot write the label decisions to {printable_path(path)}: {err.strerror or err}"
        ) from None
    return path


@dataclass(frozen=True)
class RecordedDecision:
    """One decision as saved, and how many the sidecar now holds."""

    key: Key
    action: str  # exclude | relabel | keep
    label: str
    excluded: int
    relabelled: int
    sidecar: str


def record_decision(data: DataOptions, seed: int, key: Key, action: str, label: str = "") -> RecordedDecision:
    """Record one decision about a sample beside the dataset (never touching the user's files):
    "exclude" it from training, "relabel" it as `label`, or "keep" it as it is (which takes back
    an earlier decision). The sidecar remembers the split `seed` the keys were made with."""
    if action not in ("exclude", "relabel", "keep"):
        raise ConfigError(f"a label decision is exclude, relabel or keep, not {action!r}")
    decisions = load_decisions(data)
    decisions.seed = seed
    decisions.exclude.discard(key)
    decisions.relabel.pop(key, None)
    if action == "exclude":
        decisions.exclude.add(key)
    elif action == "relabel":
        decisions.relabel[key] = label
    path = save_decisions(data, decisions)
    return RecordedDecision(key, action, label, len(decisions.exclude), len(decisions.relabel), str(path))


def _order(key: Key) -> tuple[int, str, int]:
    if isinstance(key, str):
        return (0, key, 0)
    return (1 if isinstance(key, RowKey) else 2, key[0], key[1])


def _key_to_json(key: Key, root: Path | None) -> dict[str, Any]:
    if isinstance(key, str):
        return {"path": _relative(key, root)}
    if isinstance(key, RowKey):
        return {"array": str(key.array), "row": int(key.row)}
    split, index = key
    return {"split": str(split), "index": int(index)}


def _relative(path: str, root: Path | None) -> str:
    if root is None:
        return path
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return path if relative.startswith("..") else Path(relative).as_posix()


# --- applying them ------------------------------------------------------------------------------------------
@dataclass
class AppliedDecisions:
    """A dataset with the decisions applied, what changed, and each kept sample's position in the
    split as loaded (so indices reported to the user keep meaning the data they loaded)."""

    dataset: Any
    excluded: int = 0
    relabelled: int = 0
    positions: dict[str, np.ndarray] = field(default_factory=dict)
    note: str = ""


def split_sources(dataset: Any, split: str) -> list[str] | None:
    """The file of each sample of `split`, for file-based data; None otherwise."""
    if getattr(dataset, "streams", False):  # a streamed folder dataset: its files know their paths
        return [str(f.path) for f in dataset.files(split)]
    return {
        "train": getattr(dataset, "train_sources", None),
        "validation": getattr(dataset, "val_sources", None),
        "test": getattr(dataset, "test_sources", None),
    }.get(split)


def present_splits(dataset: Any) -> list[str]:
    return [s for s in SPLITS if s != "test" or getattr(dataset, "y_test", None) is not None]


def honour_decisions(dataset: Any, config: ExperimentConfig) -> AppliedDecisions:
    """`dataset` with the saved decisions about `config.data` applied (unchanged, same object,
    when there are none). A new dataset is made: the caller's stays as it was."""
    path = sidecar_path(config.data)
    decisions, split = _load(path, config.data)
    if not len(decisions):
        return AppliedDecisions(dataset)
    by_index_ok = split is None or split == _split_signature(config.data, config.training.seed)
    root = folder_root(config.data)
    index = {name: i for i, name in enumerate(dataset.class_names)}
    exclude = {normal_key(k, root) for k in decisions.exclude}
    relabel = {normal_key(k, root): v for k, v in decisions.relabel.items()}
    unknown = sorted({v for v in relabel.values() if v not in index})
    changes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    excluded = relabelled = 0
    for name in present_splits(dataset):
        labels = np.array(dataset.split(name)[1], np.int32)
        keys = _keys(dataset, name, len(labels), root, by_index_ok)
        keep = np.ones(len(labels), bool)
        for i, names in enumerate(keys):
            keep[i] = not any(key in exclude for key in names)
            new = next((relabel[key] for key in names if key in relabel), None)
            if keep[i] and new in index and labels[i] != index[new]:
                labels[i] = index[new]
                relabelled += 1
        excluded += int((~keep).sum())
        changes[name] = (np.flatnonzero(keep), labels)
    positions = {name: kept for name, (kept, _) in changes.items()}
    note = _note(path, excluded, relabelled, unknown, by_index_ok, decisions, split)
    return AppliedDecisions(_rebuilt(dataset, changes), excluded, relabelled, positions, note)


def normal_key(key: Key, root: Path | None) -> Key:
    if isinstance(key, str):
        return _relative(key, root)
    if isinstance(key, RowKey):
        return RowKey(str(key.array), int(key.row))
    return (key[0], int(key[1]))


def sample_key(source: str | None, array: str | None, row: int | None, split: str, index: int) -> Key:
    """How a decision names one sample: its file (folder data), else its array and row (array
    data), else (split, index) into the split as loaded."""
    if source:
        return source
    if array is not None and row is not None:
        return RowKey(array, int(row))
    return (split, int(index))


def _keys(dataset: Any, split: str, count: int, root: Path | None, by_index_ok: bool) -> list[tuple[Key, ...]]:
    """Every name a decision may give each sample of `split` (a file; an array's row and, under
    the split the decisions were made for, its (split, index))."""
    sources = split_sources(dataset, split) if root is not None else None
    if sources is not None:
        return [(_relative(s, root),) for s in sources]
    rows = dataset.rows(split) if hasattr(dataset, "rows") else None
    by_row: list[tuple[Key, ...]] = [(RowKey(*rows.at(i)),) for i in range(count)] if rows is not None else []
    if not by_index_ok:
        return by_row
    by_index = [((split, i),) for i in range(count)]
    return [a + b for a, b in zip(by_row, by_index)] if by_row else by_index


def _note(
    path: Path,
    excluded: int,
    relabelled: int,
    unknown: list[str],
    by_index_ok: bool,
    decisions: LabelDecisions,
    split: dict[str, Any] | None,
) -> str:
    parts = [
        f"label decisions ({printable_path(path.name)}): {excluded} sample{'s' if excluded != 1 else ''} excluded, "
        f"{relabelled} relabelled"
    ]
    if unknown:
        parts.append(f"relabels to unknown classes ignored: {', '.join(unknown[:5])}")
    by_index = [k for k in (*decisions.exclude, *decisions.relabel) if not isinstance(k, (str, RowKey))]
    if not by_index_ok and by_index:
        parts.append(f"decisions about samples by position not applied: they were made for another split ({split})")
    return "; ".join(parts)


def _rebuilt(dataset: Any, changes: dict[str, tuple[np.ndarray, np.ndarray]]) -> Any:
    """A new dataset holding the kept samples of each split with their (new) labels."""
    if getattr(dataset, "streams", False):
        return _rebuilt_streamed(dataset, changes)
    fields: dict[str, Any] = {}
    names = {
        "train": ("x_train", "y_train", "train_sources", "train_rows"),
        "validation": ("x_val", "y_val", "val_sources", "val_rows"),
        "test": ("x_test", "y_test", "test_sources", "test_rows"),
    }
    for split, (kept, labels) in changes.items():
        x_name, y_name, sources_name, rows_name = names[split]
        fields[x_name] = getattr(dataset, x_name)[kept]
        fields[y_name] = labels[kept]
        sources = getattr(dataset, sources_name, None)
        if sources is not None:
            fields[sources_name] = [sources[i] for i in kept]
        rows = getattr(dataset, rows_name, None)
        if rows is not None:
            fields[rows_name] = rows.take(kept)
    return replace(dataset, **fields)


def _rebuilt_streamed(dataset: Any, changes: dict[str, tuple[np.ndarray, np.ndarray]]) -> Any:
    """The same for a streamed folder dataset: its files, relabelled and filtered, in a new one."""
    splits = {split: list(dataset.files(split)) for split in present_splits(dataset)}  # unchanged splits stay
    for split, (kept, labels) in changes.items():
        files = dataset.files(split)
        splits[split] = [replace(files[i], label=int(labels[i])) for i in kept.tolist()]
    return dataset.with_splits(splits)
