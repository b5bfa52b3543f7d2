import json
import os
from pathlib import Path

import pytest

from engine import runs
from engine.config import ExperimentConfig
from engine.errors import ConfigError, RunError


def test_atomic_write_json_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "history.json"
    runs.atomic_write_json(target, [{"epoch": 0}])
    runs.atomic_write_json(target, [{"epoch": 0}, {"epoch": 1}])
    assert json.loads(target.read_text()) == [{"epoch": 0}, {"epoch": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    runs.atomic_write_json(target, {"val_accuracy": 0.9})

    def broken(tmp: Path) -> None:
        tmp.write_text("{half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        runs.atomic_write(target, broken)
    assert json.loads(target.read_text()) == {"val_accuracy": 0.9}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_nan_is_refused_rather_than_written_as_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        runs.atomic_write_json(tmp_path / "x.json", {"loss": float("nan")})


def test_new_run_dirs_are_unique_and_named_after_the_experiment(tmp_path: Path) -> None:
    config = ExperimentConfig().updated(**{"data.name": "folder:/photos/my fruit"})
    first = runs.new_run_dir(config, tmp_path)
    second = runs.new_run_dir(config, tmp_path)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.endswith("folder-my_fruit-mlp")


def test_runs_root_follows_layerlab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path))
    assert runs.default_runs_root() == tmp_path / "runs"


def test_load_run_and_list_runs(tmp_path: Path) -> None:
    config = ExperimentConfig()
    path = runs.new_run_dir(config, tmp_path)
    runs.atomic_write_json(path / runs.CONFIG, config.to_dict())
    runs.atomic_write_json(path / runs.HISTORY, [{"epoch": 0, "loss": 1.0}])
    runs.atomic_write_json(path / runs.METRICS, {"val_accuracy": 0.5})
    (tmp_path / "not-a-run").mkdir()
    run = runs.load_run(path)
    assert run.config == config and run.history[0].loss == 1.0
    [summary] = runs.list_runs(tmp_path)
    assert summary.path == path and summary.val_accuracy == 0.5 and summary.epochs == 1 and not summary.has_model


def test_unreadable_runs_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no run folder"):
        runs.load_run(tmp_path / "missing")
    with pytest.raises(RunError, match="config.json is missing"):
        runs.load_run(tmp_path)
    (tmp_path / runs.CONFIG).write_text('{"schema_version": 99}')
    with pytest.raises(ConfigError, match="newer"):
        runs.load_run(tmp_path)


def test_model_files_must_be_keras_archives(tmp_path: Path) -> None:
    pickle_like = tmp_path / "model.pkl"
    pickle_like.write_bytes(b"\x80\x04evil")
    with pytest.raises(RunError, match=".keras files only"):
        runs.load_model_file(pickle_like)
    corrupt = tmp_path / "model.keras"
    corrupt.write_bytes(b"not a zip")
    with pytest.raises(RunError, match="cannot load model"):
        runs.load_model_file(corrupt)
