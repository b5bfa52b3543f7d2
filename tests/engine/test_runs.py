import json
import os
import time
from pathlib import Path

import pytest

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError, RunError
from engine.runs import folders as runs


def test_atomic_write_json_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "history.json"
    runs.write_json(target, [{"epoch": 0}])
    runs.write_json(target, [{"epoch": 0}, {"epoch": 1}])
    assert json.loads(target.read_text()) == [{"epoch": 0}, {"epoch": 1}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json"]


def test_failed_write_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    runs.write_json(target, {"val_accuracy": 0.9})

    def broken(tmp: Path) -> None:
        tmp.write_text("{half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        runs.write_file(target, broken)
    assert json.loads(target.read_text()) == {"val_accuracy": 0.9}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_nan_is_refused_rather_than_written_as_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        runs.write_json(tmp_path / "x.json", {"loss": float("nan")})


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
    runs.write_json(path / runs.CONFIG, config.to_dict())
    runs.write_json(path / runs.HISTORY, [{"epoch": 0, "loss": 1.0}])
    runs.write_json(path / runs.METRICS, {"val_accuracy": 0.5})
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


def test_run_files_get_the_permissions_of_the_umask(tmp_path: Path) -> None:
    """mkstemp makes private (0600) files; a run shared with another user must be readable."""
    previous = os.umask(0o027)
    try:
        runs.write_json(tmp_path / "metrics.json", {"val_accuracy": 0.5})
        assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == 0o640
        os.umask(0o002)
        runs.write_file(tmp_path / "model.keras", lambda tmp: tmp.write_bytes(b"x"))
        assert (tmp_path / "model.keras").stat().st_mode & 0o777 == 0o664
    finally:
        os.umask(previous)


def test_writing_a_run_file_removes_stale_temporaries_only(tmp_path: Path) -> None:
    """What a killed process left (.history.json.XXXXXXXX.json, untouched for long) goes; what is
    being written now, other hidden files and what a link points to stay."""
    old = time.time() - 2 * runs.STALE_AFTER_S
    stale = [tmp_path / ".history.json.k2j3h4_x.json", tmp_path / ".model.keras.abcdefgh.keras"]
    fresh = tmp_path / ".metrics.json.zyxwvuts.json"
    other = tmp_path / ".notes.txt.abcdefgh.txt"
    target = tmp_path / "precious.bin"
    for path in stale + [fresh, other, target]:
        path.write_bytes(b"half")
    link = tmp_path / ".config.json.linkedto.json"
    link.symlink_to(target.name)
    for path in stale + [other, target]:
        os.utime(path, (old, old))
    os.utime(link, (old, old), follow_symlinks=False)
    runs.write_json(tmp_path / "history.json", [])
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == sorted(["history.json", fresh.name, other.name, target.name, link.name])


def test_metrics_and_history_keep_their_json_keys() -> None:
    from engine.core.records import EpochRecord, Misclassified, RunMetrics
    from engine.runs.files import history_to_json

    metrics = RunMetrics(
        val_count=2,
        val_loss=float("nan"),
        val_accuracy=0.5,
        epochs_run=1,
        misclassified=[Misclassified(index=1, true="a", predicted="b", confidence=0.7)],
    )
    saved = metrics.to_json_dict()
    assert set(saved) == {
        "val_count",
        "val_loss",
        "val_accuracy",
        "train_loss",
        "train_accuracy",
        "misclassified",
        "misclassified_count",
        "confusion_matrix",
        "cancelled",
        "stopped_early",
        "feature_cache",
        "epochs_run",
        # per-class tables and the counts of the user's label decisions
        "per_class",
        "test_per_class",
        "excluded_samples",
        "relabelled_samples",
        # (keys are only ever added)
        "test_count",
        "test_loss",
        "test_accuracy",
        "test_confusion_matrix",
        "test_class_counts",
        "test_class_correct",
        "test_is_validation",
        "evaluated_weights",
        "evaluated_epoch",
        "trainable_params",
        "total_params",
        "seconds",
        # the seconds of training, whether a target accuracy ended the run, test-time augmentation
        "train_seconds",
        "elapsed_seconds",
        "reached_target",
        "tta_views",
        # an autoencoder's figures (null for a classifier)
        "reconstruction_error",
        "noisy_input_error",
        "noise",
    }
    assert saved["reconstruction_error"] is None and saved["noise"] is None
    assert saved["val_loss"] is None and set(saved["misclassified"][0]) == {
        "index",
        "source",
        "true",
        "predicted",
        "confidence",
        "array",  # array data: where the sample lies in the user's arrays ("x_train", 1234)
        "row",
    }
    json.dumps(saved, allow_nan=False)
    assert RunMetrics.failure("out of memory", "oom", 3).to_json_dict() == {
        "failed": "out of memory",
        "failed_kind": "oom",
        "epochs_run": 3,
    }
    [entry] = history_to_json([EpochRecord(epoch=0, loss=float("inf"), accuracy=0.5)])
    assert entry == {
        "epoch": 0,
        "loss": None,
        "accuracy": 0.5,
        "val_loss": None,
        "val_accuracy": None,
        "seconds": 0.0,
        "stage": 1,
        "partial": False,
        "learning_rate": None,
        "elapsed_seconds": None,
    }  # the rate the epoch ran at (keys are only ever added)


def test_newer_keys_are_ignored_and_wrong_types_named(tmp_path: Path) -> None:
    config = ExperimentConfig()
    runs.write_json(tmp_path / runs.CONFIG, config.to_dict())
    runs.write_json(tmp_path / runs.METRICS, {"val_accuracy": 0.5, "calibration": {"ece": 0.1}})
    runs.write_json(tmp_path / runs.HISTORY, [{"epoch": 0, "loss": 1.0, "lr": 0.001}])
    run = runs.load_run(tmp_path)
    assert run.metrics.val_accuracy == 0.5 and run.history[0].loss == 1.0 and run.preprocess is None
    runs.write_json(tmp_path / runs.HISTORY, [{"epoch": "first"}])
    with pytest.raises(RunError, match=r"history\.json: entry 0: epoch"):
        runs.load_run(tmp_path)


def test_preprocess_spec_is_validated() -> None:
    from engine.images.spec import PreprocessSpec

    spec = PreprocessSpec(height=8, width=8, channels=1, class_names=("a", "b"))
    assert PreprocessSpec.from_dict(spec.to_dict() | {"added_later": 1}) == spec
    assert spec.to_dict()["class_names"] == ["a", "b"]
    with pytest.raises(RunError, match=r"preprocess\.json: width: Field required"):
        PreprocessSpec.from_dict({"height": 8, "channels": 1})
    with pytest.raises(RunError, match=r"preprocess\.json: channels"):
        PreprocessSpec.from_dict({"height": 8, "width": 8, "channels": 4})
    with pytest.raises(RunError, match="not a list"):
        PreprocessSpec.from_dict([8, 8, 1])


def test_a_run_with_a_legacy_h5_model_says_so(tmp_path: Path) -> None:
    from engine.inference.classifier import open_run, resolve_run

    config = ExperimentConfig()
    path = runs.new_run_dir(config, tmp_path)
    runs.write_json(path / runs.CONFIG, config.to_dict())
    runs.write_json(path / runs.PREPROCESS, {"height": 8, "width": 8, "channels": 1})
    assert "no saved model" in open_run(path).problem
    (path / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    opened = open_run(path)
    assert opened.classifier is None and "legacy HDF5 file (model.h5)" in opened.problem
    assert "for safety" in opened.problem and "model.keras" in opened.problem
    with pytest.raises(RunError, match="legacy HDF5"):
        resolve_run(path)
    [summary] = runs.list_runs(tmp_path)
    assert "legacy HDF5" in (summary.problem or "")
