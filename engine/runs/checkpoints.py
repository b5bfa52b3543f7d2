"""Checkpoint files: `<run>/checkpoints/epoch-00007.npz`, one per kept epoch (0-based, as in
history.json), written atomically and read without unpickling.

A checkpoint is one `.npz` archive (NumPy's zip of `.npy` arrays, read with
`allow_pickle=False`): `meta` holds a JSON document (format, epoch, stage, validation loss,
the history so far, the run's elapsed time, what each array is) as bytes, and `a0, a1, ...` the
arrays of `engine.training.train_state`. It is written to a hidden temporary, flushed to disk
and renamed, so a crash, a `kill -9` or a power cut leaves the previous checkpoint or the new
one, never half of one. Before any array is read, its size in the archive is checked against the
shape the document declares (no allocation a file could force).

Only the latest and the best (lowest validation loss) are kept; `prune` removes the others.
Cheap to import (NumPy and the standard library only), so front ends can look at a run's
checkpoints before TensorFlow starts; `engine.training.checkpoints` is the same API under the
training package, and `engine.training.train_state` moves states in and out of Keras objects.
"""

from __future__ import annotations

import json
import os
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.errors import RunError
from engine.core.files import atomic_write, check_regular_file, printable_path
from engine.core.records import EpochRecord
from engine.runs.files import history_to_json, parse_history

FOLDER = "checkpoints"
FORMAT = "layerlab-checkpoint"
VERSION = 1
MAX_CHECKPOINT_BYTES = 16 * 2**30
MAX_META_BYTES = 64 * 2**20
_NAME = re.compile(r"^epoch-(\d{5,})\.npz$")
_TEMPORARY = re.compile(r"^\.epoch-\d{5,}\.npz\.[a-z0-9_]{8}\.npz$")
STALE_AFTER_S = 600


@dataclass
class TrainingState:
    """A run after a complete epoch: what a checkpoint holds. `entries[i]` says what `arrays[i]`
    is: `{"kind": "model" | "optimizer" | "augmentation", "layer", "index" | "path", "shape",
    "dtype"}` (engine.training.train_state)."""

    epoch: int  # 0-based: the last complete epoch
    stage: int
    stage_epochs_done: int  # epochs of this stage done: how far its shuffles went
    history: list[EpochRecord]
    val_loss: float | None
    elapsed_s: float  # the run's wall time so far, over all its sessions
    optimizer: str  # the optimizer's class name
    entries: list[dict[str, Any]] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class Checkpoint:
    """One kept checkpoint of a run: after epoch `epoch` (0-based) of stage `stage`."""

    epoch: int
    stage: int
    path: Path
    best: bool  # the lowest validation loss among the run's checkpoints
    val_loss: float | None = None


def folder(run_dir: str | Path) -> Path:
    return Path(run_dir) / FOLDER


def file_for(run_dir: str | Path, epoch: int) -> Path:
    return folder(run_dir) / f"epoch-{epoch:05d}.npz"


# --- listing -----------------------------------------------------------------------------------
def list_checkpoints(run_dir: str | Path) -> list[Checkpoint]:
    """The run's readable checkpoints, oldest first (unreadable files are left out)."""
    found: list[tuple[int, int, Path, float | None]] = []
    try:
        names = sorted(os.listdir(folder(run_dir)))
    except OSError:
        return []
    for name in names:
        if not _NAME.match(name):
            continue
        path = folder(run_dir) / name
        try:
            meta = read_meta(path)
        except RunError:
            continue
        found.append((int(meta["epoch"]), int(meta["stage"]), path, _finite(meta.get("val_loss"))))
    found.sort(key=lambda item: item[0])
    best = _best_epoch([(epoch, loss) for epoch, _, _, loss in found])
    return [Checkpoint(epoch, stage, path, epoch == best, loss) for epoch, stage, path, loss in found]


def latest_checkpoint(run_dir: str | Path) -> Checkpoint | None:
    """The checkpoint of the run's last complete epoch, or None when it keeps none."""
    kept = list_checkpoints(run_dir)
    return kept[-1] if kept else None


def checkpoint_at(run_dir: str | Path, epoch: int) -> Checkpoint:
    """The checkpoint after `epoch` (0-based); `RunError` naming the epochs kept otherwise."""
    kept = list_checkpoints(run_dir)
    for checkpoint in kept:
        if checkpoint.epoch == epoch:
            return checkpoint
    have = ", ".join(f"{c.epoch}{' (best)' if c.best else ''}" for c in kept) or "none"
    raise RunError(
        f"{printable_path(run_dir)} keeps no checkpoint of epoch {epoch} (0-based); "
        f"it keeps the latest and the best: {have}"
    )


def _best_epoch(losses: list[tuple[int, float | None]]) -> int | None:
    scored = [(loss, epoch) for epoch, loss in losses if loss is not None]
    return min(scored)[1] if scored else None


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


# --- writing -----------------------------------------------------------------------------------
def write_checkpoint(run_dir: str | Path, state: TrainingState) -> Path:
    """Write `state` as the checkpoint of its epoch, durably and atomically; return its path."""

    target = file_for(run_dir, state.epoch)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(target.parent)
    arrays = {"meta": np.frombuffer(json.dumps(_meta(state)).encode("utf-8"), np.uint8)}
    arrays.update({f"a{i}": array for i, array in enumerate(state.arrays)})

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(target, write)
    _sync_folder(target.parent)
    return target


def _meta(state: TrainingState) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "epoch": state.epoch,
        "stage": state.stage,
        "stage_epochs_done": state.stage_epochs_done,
        "val_loss": state.val_loss,
        "elapsed_s": state.elapsed_s,
        "optimizer": state.optimizer,
        "history": history_to_json(state.history),
        "entries": state.entries,
    }


def _sync_folder(path: Path) -> None:
    """Make the rename itself durable (a power cut right after it keeps the new file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def prune(run_dir: str | Path) -> list[Path]:
    """Remove every checkpoint but the latest and the best; return what was removed."""
    kept = list_checkpoints(run_dir)
    keep = {kept[-1].path} | {c.path for c in kept if c.best} if kept else set()
    removed = []
    for checkpoint in kept:
        if checkpoint.path not in keep:
            try:
                checkpoint.path.unlink()
                removed.append(checkpoint.path)
            except OSError:
                pass
    return removed


def clean_stale_temporaries(path: Path, *, older_than_s: float = STALE_AFTER_S) -> None:
    """Remove checkpoint temporaries a killed process left more than `older_than_s` ago."""
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            if (
                _TEMPORARY.match(entry.name)
                and entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_mtime < cutoff
            ):
                os.unlink(entry.path)
        except OSError:
            continue


# --- reading -----------------------------------------------------------------------------------
def read_meta(path: Path) -> dict[str, Any]:
    """The checkpoint's JSON document, checked; `RunError` naming the file otherwise."""
    with _open(path) as archive:
        return _read_meta(archive, path)


def read_checkpoint(checkpoint: Checkpoint | Path) -> TrainingState:
    """The whole state of a checkpoint (arrays included)."""
    path = checkpoint.path if isinstance(checkpoint, Checkpoint) else Path(checkpoint)
    with _open(path) as archive:
        meta = _read_meta(archive, path)
        entries = meta["entries"]
        arrays = [_read_array(archive, f"a{i}", entry, path) for i, entry in enumerate(entries)]
    history = parse_history(meta["history"], path)
    return TrainingState(
        epoch=int(meta["epoch"]),
        stage=int(meta["stage"]),
        stage_epochs_done=int(meta["stage_epochs_done"]),
        history=history,
        val_loss=_finite(meta.get("val_loss")),
        elapsed_s=float(meta.get("elapsed_s") or 0.0),
        optimizer=str(meta.get("optimizer") or ""),
        entries=entries,
        arrays=arrays,
    )


def _open(path: Path) -> Any:
    check_regular_file(path, max_bytes=MAX_CHECKPOINT_BYTES, error=RunError, what="a checkpoint")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise RunError(f"{printable_path(path)} is not a readable checkpoint ({err})") from None


def _read_meta(archive: Any, path: Path) -> dict[str, Any]:
    try:
        if archive.zip.getinfo("meta.npy").file_size > MAX_META_BYTES:
            raise RunError(f"{printable_path(path)}: its description is too big")
        meta = json.loads(archive["meta"].tobytes().decode("utf-8"))
    except (KeyError, ValueError, UnicodeDecodeError, zipfile.BadZipFile) as err:
        raise RunError(f"{printable_path(path)} is not a LayerLab checkpoint ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RunError(f"{printable_path(path)} is not a LayerLab checkpoint")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise RunError(
            f"{printable_path(path)} was written by a newer LayerLab (checkpoint version {meta.get('version')!r})"
        )
    for key, kind in (("epoch", int), ("stage", int), ("stage_epochs_done", int), ("entries", list), ("history", list)):
        if not isinstance(meta.get(key), kind):
            raise RunError(f"{printable_path(path)}: the checkpoint's {key} is missing or wrong")
    return meta


def _read_array(archive: Any, key: str, entry: Any, path: Path) -> np.ndarray:
    """One array, after checking that its member is no bigger than its declared shape needs."""
    try:
        shape = tuple(int(d) for d in entry["shape"])
        dtype = np.dtype(entry["dtype"])
        declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if archive.zip.getinfo(f"{key}.npy").file_size > declared + 4096 or dtype.hasobject:
            raise ValueError("its size does not match its description")
        array = archive[key]
    except (KeyError, TypeError, ValueError, zipfile.BadZipFile) as err:
        raise RunError(f"{printable_path(path)}: array {key} is damaged ({err})") from None
    if array.shape != shape or array.dtype != dtype:
        raise RunError(f"{printable_path(path)}: array {key} is damaged (shape {array.shape}, expected {shape})")
    return array
