"""Run directories: everything one training produced, written atomically, loaded safely.

A run is a folder holding `config.json` (versioned experiment config), `history.json` (one entry
per epoch), `preprocess.json` (what inference must do to an image), `model.keras` and
`metrics.json`. Each file is written to a hidden temporary name in the same folder and renamed,
so a crash or a closed window never leaves a half-written file; a model only replaces the
previous one once it has been saved completely. Temporaries left by a killed process are removed
the next time the folder is written, loaded or listed. Files get the permissions the user's
umask gives any new file (`mkstemp` alone would make them private).

Every file is validated when read (`engine.runs.files`, `engine.runs.models`): a damaged run is a
`RunError` that names the file, and `list_runs` lists it with its problem instead of hiding it or
failing for every run.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from platformdirs import user_data_path

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError, LayerLabError, RunError, json_kind
from engine.core.files import atomic_write, atomic_write_json, printable_path
from engine.core.records import EpochRecord, Misclassified, RunMetrics
from engine.images.spec import PreprocessSpec
from engine.runs.files import history_to_json, parse_history, parse_metrics, read_json
from engine.runs.models import check_keras_archive, check_model_matches, load_model_file

__all__ = [
    "CONFIG",
    "HISTORY",
    "METRICS",
    "MODEL",
    "PREPROCESS",
    "EpochRecord",
    "Misclassified",
    "Run",
    "RunMetrics",
    "RunSummary",
    "check_keras_archive",
    "check_model_matches",
    "clean_stale_temporaries",
    "default_runs_root",
    "history_to_json",
    "list_runs",
    "load_model_file",
    "load_run",
    "new_run_dir",
    "save_model",
    "summarise_run",
    "write_file",
    "write_json",
]

CONFIG = "config.json"
HISTORY = "history.json"
METRICS = "metrics.json"
PREPROCESS = "preprocess.json"
MODEL = "model.keras"
OOD = "ood.npz"  # engine.inference.ood: the out-of-distribution model fitted after training
RUN_FILES = (CONFIG, HISTORY, METRICS, PREPROCESS, MODEL, OOD)

# A temporary of `engine.core.files.atomic_write` untouched this long belongs to a process that died (a model is
# written in seconds; its file's modification time moves while it is written).
STALE_AFTER_S = 600
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}(?P<suffix>\.[A-Za-z0-9]+)$")


def default_runs_root() -> Path:
    """`$LAYERLAB_HOME/runs`, else the platform's user data folder (e.g. ~/.local/share/layerlab/runs)."""
    home = os.environ.get("LAYERLAB_HOME")
    if home:
        return Path(home).expanduser() / "runs"

    return user_data_path("layerlab", appauthor=False) / "runs"


# --- writing ---------------------------------------------------------------------------------------
def write_file(path: Path, write: Callable[[Path], None]) -> None:
    """Write a run file atomically (`engine.core.files.atomic_write`), first removing the
    temporaries a killed process left in its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    atomic_write(path, write)


def write_json(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write a run's JSON file atomically, first removing stale temporaries (see `write_file`);
    `durable=False` skips the fsync for files rewritten every epoch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    atomic_write_json(path, data, durable=durable)


def clean_stale_temporaries(folder: Path, *, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the hidden temporaries of run files (`.model.keras.k2j3h4_x.keras`) that a killed
    process left in `folder` more than `older_than_s` seconds ago; return what was removed.

    Only names `atomic_write` makes for run files are touched, only regular files (never what a
    link points to), and a folder that cannot be written (a run shared read-only) is left as is.
    """
    removed: list[Path] = []
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or match["target"] not in RUN_FILES:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def new_run_dir(config: ExperimentConfig, root: Path | None = None) -> Path:
    """Create a fresh, uniquely named run folder such as `20261123-101502-digits-mlp`."""
    root = Path(root) if root is not None else default_runs_root()
    dataset = re.sub(r"[^A-Za-z0-9_-]+", "_", config.data.name.split(":", 1)[0])
    if ":" in config.data.name:
        dataset += "-" + re.sub(r"[^A-Za-z0-9_-]+", "_", Path(config.data.name.split(":", 1)[1]).name)[:30]
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{dataset}-{config.arch.name}"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1000):
        path = root / (stem if i == 0 else f"{stem}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RunError(f"cannot create a run folder in {printable_path(root)}")


def save_model(model: Any, run_dir: Path) -> Path:
    """Save a Keras model atomically as `model.keras`."""
    target = Path(run_dir) / MODEL
    write_file(target, lambda tmp: model.save(tmp))
    return target


# --- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    """One line of the runs list. `problem` set means a broken run, and says why."""

    path: Path
    created: str
    dataset: str
    arch: str
    epochs: int
    val_accuracy: float | None
    has_model: bool
    problem: str | None = None
    test_accuracy: float | None = None  # None: no test split, or a run from before there was one
    parent: str | None = None  # a fork: the run folder it started from (config.json's parent.run)
    parent_epoch: int | None = None  # ... and the epoch (0-based) of that run's checkpoint
    status: str = "finished"  # finished | stopped | failed | unfinished (no metrics.json: killed) | broken
    config: ExperimentConfig | None = None  # None when config.json cannot be read
    lesson: str | None = None  # the lesson it was made for (config.json's lesson)

    @property
    def resumable(self) -> bool:
        """Stopped before its planned epochs (Stop, a crash, a kill): it can go on from its last epoch."""
        return self.status in ("stopped", "unfinished") and not self.problem


@dataclass(frozen=True)
class Run:
    """A run folder read back and validated: config, curves, metrics and what inference needs.

    `metrics` is None for a run that never finished (no metrics.json); `preprocess` is None for
    a folder without preprocess.json (its model cannot classify images).
    """

    path: Path
    config: ExperimentConfig
    history: list[EpochRecord] = field(default_factory=list)
    metrics: RunMetrics | None = None
    preprocess: PreprocessSpec | None = None

    @property
    def model_path(self) -> Path:
        return self.path / MODEL

    @property
    def class_names(self) -> list[str]:
        return list(self.preprocess.class_names) if self.preprocess is not None else []

    def load_model(self) -> Any:
        """The run's model (safe mode, imports Keras), checked against its preprocessing."""
        model = load_model_file(self.model_path)
        if self.preprocess is not None:
            check_model_matches(model, self.preprocess, self.class_names, where=f"{printable_path(self.model_path)}")
        return model


def read_config(run_dir: Path) -> ExperimentConfig:
    """A run's `config.json`, upgraded to the current schema; `RunError` when the folder is not
    a run, `ConfigError` when the file says something the config refuses."""
    path = run_dir / CONFIG
    if not os.path.lexists(path):
        raise RunError(f"{printable_path(run_dir)} is not a LayerLab run: {CONFIG} is missing")
    data = read_json(path)
    if not isinstance(data, dict):
        raise RunError(f"{printable_path(path)} must hold a JSON object, not {json_kind(data)}")
    try:
        return ExperimentConfig.from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{printable_path(path)}: {err}") from None


def read_history(run_dir: Path) -> list[EpochRecord]:
    path = run_dir / HISTORY
    return parse_history(read_json(path), path) if os.path.lexists(path) else []


def read_metrics(run_dir: Path) -> RunMetrics | None:
    path = run_dir / METRICS
    return parse_metrics(read_json(path), path) if os.path.lexists(path) else None


def read_preprocess(run_dir: Path) -> PreprocessSpec | None:
    path = run_dir / PREPROCESS
    if not os.path.lexists(path):
        return None
    return PreprocessSpec.from_dict(read_json(path), where=printable_path(path))


def load_run(path: str | Path) -> Run:
    """Read and validate every JSON file of a run folder; `RunError` (or `ConfigError` for its
    config) naming the file that is wrong. The model is only checked when loaded."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise RunError(f"no run folder at {printable_path(path)}")
    clean_stale_temporaries(path)
    return Run(
        path=path,
        config=read_config(path),
        history=read_history(path),
        metrics=read_metrics(path),
        preprocess=read_preprocess(path),
    )


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """Runs under `root`, newest first. Folders without a config.json are not runs and are left
    out; a run with a damaged file is listed with its `problem`, and never hides the others."""
    root = Path(root) if root is not None else default_runs_root()
    try:
        entries = sorted(root.iterdir(), reverse=True)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise RunError(f"cannot list the runs in {printable_path(root)}: {err.strerror or err}") from None
    summaries = []
    for path in entries:
        try:
            is_run = not path.name.startswith(".") and path.is_dir() and os.path.lexists(path / CONFIG)
        except OSError:
            continue
        if is_run:
            summaries.append(summarise_run(path))
    return summaries


LEGACY_MODELS = ("model.h5", "model.hdf5")


def missing_model_reason(path: Path) -> str:
    """Why a run folder without `model.keras` has no model to load: a legacy HDF5 model (named,
    with what to do), else a training that never saved one."""
    legacy = next((name for name in LEGACY_MODELS if os.path.lexists(path / name)), None)
    if legacy is not None:
        return (
            f"this run's model is a legacy HDF5 file ({legacy}), which LayerLab does not load for safety "
            "(an .h5 model can carry code that runs when it is loaded); load it in the Keras that made it "
            "and save it as model.keras in this folder (model.save('model.keras')) to use it here"
        )
    return "this run has no saved model (it failed or was stopped before saving)"


_T = TypeVar("_T")


def summarise_run(path: Path) -> RunSummary:
    """The runs-list line of one run folder: as much as its readable files tell, and the first
    problem found (None for a healthy run)."""
    clean_stale_temporaries(path)
    problems: list[str] = []

    def attempt(read: Callable[[Path], _T], default: _T) -> _T:
        try:
            return read(path)
        except LayerLabError as err:
            problems.append(str(err))
            return default

    config = attempt(read_config, None)
    history = attempt(read_history, [])
    metrics = attempt(read_metrics, None)
    attempt(read_preprocess, None)
    if not os.path.lexists(path / MODEL) and any(os.path.lexists(path / name) for name in LEGACY_MODELS):
        problems.append(missing_model_reason(path))
    return RunSummary(
        path=path,
        created=_created(path),
        dataset=config.data.name if config else "",
        arch=config.arch.name if config else "",
        epochs=len(history),
        val_accuracy=metrics.val_accuracy if metrics else None,
        has_model=(path / MODEL).is_file(),
        problem=problems[0] if problems else None,
        test_accuracy=metrics.test_accuracy if metrics else None,
        parent=config.parent.run if config and config.parent else None,
        parent_epoch=config.parent.epoch if config and config.parent else None,
        status=_status(metrics, bool(problems)),
        config=config,
        lesson=config.lesson if config else None,
    )


def _status(metrics: RunMetrics | None, broken: bool) -> str:
    """How a run ended, as the runs list says it."""
    if broken:
        return "broken"
    if metrics is None:
        return "unfinished"
    if metrics.failed:
        return "failed"
    return "stopped" if metrics.cancelled else "finished"


def _created(run_dir: Path) -> str:
    try:
        stamp = os.lstat(run_dir / CONFIG).st_mtime
    except OSError:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))
