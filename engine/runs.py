"""Run directories: everything one training produced, written atomically, loaded safely.

A run is a folder holding `config.json` (versioned experiment config), `history.json` (one entry
per epoch), `preprocess.json` (what inference must do to an image), `model.keras` and
`metrics.json`. Each file is written to a temporary name in the same folder and renamed, so a
crash or a closed window never leaves a half-written file; a model only replaces the previous
one once it has been saved completely.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.config import ExperimentConfig
from engine.errors import LayerLabError, RunError

CONFIG = "config.json"
HISTORY = "history.json"
METRICS = "metrics.json"
PREPROCESS = "preprocess.json"
MODEL = "model.keras"


def default_runs_root() -> Path:
    """`$LAYERLAB_HOME/runs`, else the platform's user data folder (e.g. ~/.local/share/layerlab/runs)."""
    home = os.environ.get("LAYERLAB_HOME")
    if home:
        return Path(home).expanduser() / "runs"
    from platformdirs import user_data_path

    return user_data_path("layerlab", appauthor=False) / "runs"


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` then rename onto `path`: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write JSON atomically; `durable=False` skips the fsync for files rewritten every epoch
    (the rename alone already keeps readers from ever seeing half a file)."""
    text = json.dumps(data, indent=2, allow_nan=False, default=_json_default)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())

    atomic_write(path, write)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


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
    raise RunError(f"cannot create a run folder in {root}")


def save_model(model: Any, run_dir: Path) -> Path:
    """Save a Keras model atomically as `model.keras`."""
    target = Path(run_dir) / MODEL
    atomic_write(target, lambda tmp: model.save(tmp))
    return target


@dataclass
class RunSummary:
    path: Path
    created: str
    dataset: str
    arch: str
    epochs: int
    val_accuracy: float | None
    has_model: bool


@dataclass
class Run:
    """A run folder read back: config, curves, metrics and what inference needs."""

    path: Path
    config: ExperimentConfig
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=dict)

    @property
    def model_path(self) -> Path:
        return self.path / MODEL

    @property
    def class_names(self) -> list[str]:
        return list(self.preprocess.get("class_names", []))

    def load_model(self) -> Any:
        return load_model_file(self.model_path)


def _read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if default is not None:
            return default
        raise RunError(f"{path.parent} is not a LayerLab run: {path.name} is missing") from None
    except (OSError, json.JSONDecodeError) as err:
        raise RunError(f"cannot read {path}: {err}") from None


def load_run(path: str | Path) -> Run:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise RunError(f"no run folder at {path}")
    config = ExperimentConfig.from_dict(_read_json(path / CONFIG))
    return Run(
        path=path,
        config=config,
        history=_read_json(path / HISTORY, []),
        metrics=_read_json(path / METRICS, {}),
        preprocess=_read_json(path / PREPROCESS, {}),
    )


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """Runs under `root`, newest first; unreadable folders are skipped."""
    root = Path(root) if root is not None else default_runs_root()
    if not root.is_dir():
        return []
    summaries = []
    for path in sorted(root.iterdir(), reverse=True):
        if not (path / CONFIG).is_file():
            continue
        try:
            run = load_run(path)
        except LayerLabError:
            continue
        summaries.append(
            RunSummary(
                path=path,
                created=time.strftime("%Y-%m-%d %H:%M", time.localtime((path / CONFIG).stat().st_mtime)),
                dataset=run.config.data.name,
                arch=run.config.arch.name,
                epochs=len(run.history),
                val_accuracy=run.metrics.get("val_accuracy"),
                has_model=run.model_path.is_file(),
            )
        )
    return summaries


def load_model_file(path: str | Path) -> Any:
    """Load a `.keras` model in Keras safe mode (no arbitrary code: Lambda layers are refused)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise RunError(f"no model file at {path}")
    if path.suffix != ".keras":
        raise RunError(f"{path.name}: LayerLab loads models saved as .keras files only")
    import keras

    from engine.architectures import custom_objects

    try:
        return keras.saving.load_model(path, custom_objects=custom_objects(), safe_mode=True, compile=False)
    except Exception as err:  # corrupt zip, unknown layer, unsafe content...
        raise RunError(f"cannot load model {path.name}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None
