"""The test set: the finished model is evaluated once on a test split it never saw
(folder test/, npz x_test, or one held out with data.test_split); `validation == "test"`
validates on it instead and says so; which weights were evaluated is explicit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import DataOptions, ExperimentConfig
from engine.core.errors import DatasetError
from engine.core.events import Started
from engine.datasets import load_dataset
from engine.runs.files import parse_metrics
from engine.runs.folders import load_run, summarise_run

pytest.importorskip("tensorflow")
from engine.training.trainer import train

CLASSES = 3


def patterns(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """8×8 images whose class is the bright row band (easy to learn), with noise; pixel [0, 0]
    holds a unique id (0..n-1 + 100·seed) so tests can follow single images through splits."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % CLASSES
    x = rng.integers(0, 60, (n, 8, 8), dtype=np.uint8)
    for i, label in enumerate(y):
        x[i, 1 + 2 * label : 3 + 2 * label, :] = 220
        x[i, 0, 0] = (i + 100 * seed) % 256
    return x, y


def write_npz(path: Path, *, with_test: bool) -> str:
    x, y = patterns(150, 0)
    if with_test:
        x_test, y_test = patterns(30, 1)
        np.savez(path, x_train=x, y_train=y, x_test=x_test, y_test=y_test)
    else:
        np.savez(path, x=x, y=y)
    return f"npz:{path}"


def config(name: str, **changes) -> ExperimentConfig:
    base = {"data.name": name, "arch.name": "mlp", "training.epochs": 2, "training.batch_size": 16}
    return ExperimentConfig().updated(**(base | changes))


def predicted_accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(model(x.astype(np.float32))).argmax(axis=1) == y).mean())


def test_npz_test_split_is_evaluated_once_with_every_figure(tmp_path: Path) -> None:
    name = write_npz(tmp_path / "data.npz", with_test=True)
    result = train(config(name), run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    m = result.metrics
    x_test, y_test = patterns(30, 1)
    assert m.test_count == 30 and not m.test_is_validation and m.evaluated_weights == "last"
    assert m.test_accuracy == pytest.approx(predicted_accuracy(result.model, x_test, y_test))
    matrix = np.array(m.test_confusion_matrix)
    assert matrix.shape == (CLASSES, CLASSES) and matrix.sum() == 30
    assert m.test_class_counts == np.bincount(y_test, minlength=CLASSES).tolist()
    assert m.test_class_correct == np.diag(matrix).tolist()
    assert sum(m.test_class_correct) == round(m.test_accuracy * 30)
    assert m.test_loss is not None and m.test_loss > 0
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in (
        "test_loss",
        "test_accuracy",
        "test_count",
        "test_confusion_matrix",
        "test_class_counts",
        "test_class_correct",
        "test_is_validation",
        "evaluated_weights",
        "trainable_params",
        "seconds",
    ):
        assert key in saved, key
    assert saved["trainable_params"] == sum(int(np.prod(w.shape)) for w in result.model.trainable_weights)
    assert 0 < saved["seconds"] < 600
    assert summarise_run(tmp_path / "run").test_accuracy == m.test_accuracy
    assert load_run(tmp_path / "run").metrics == m


def test_a_folder_test_directory_is_evaluated(tmp_path: Path) -> None:
    root = tmp_path / "shapes"
    for split, n in (("train", 12), ("test", 4)):
        for label, value in (("dark", 30), ("light", 220)):
            for i in range(n):
                folder = root / split / label
                folder.mkdir(parents=True, exist_ok=True)
                Image.new("L", (10, 10), value + i).save(folder / f"{i}.png")
    result = train(config(f"folder:{root}", **{"data.image_size": 8}), run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    assert result.metrics.test_count == 8 and result.metrics.test_class_counts == [4, 4]
    assert result.metrics.test_accuracy is not None


def test_test_split_holds_out_a_stratified_seeded_fraction(tmp_path: Path) -> None:
    name = write_npz(tmp_path / "pool.npz", with_test=False)
    options = DataOptions(name=name, test_split=0.2, val_split=0.25)
    ds = load_dataset(options, seed=0)
    counts = ds.counts()
    assert counts["test"] == 30 and sum(counts.values()) == 150  # 20 % of everything
    assert np.bincount(ds.y_test, minlength=CLASSES).tolist() == [10, 10, 10]  # stratified
    ids = {
        split: set(x[:, 0, 0, 0].tolist())
        for split, (x, _) in (("train", ds.split("train")), ("val", ds.split("val")), ("test", ds.split("test")))
    }
    assert not (ids["test"] & ids["train"]) and not (ids["test"] & ids["val"])
    assert len(ids["train"] | ids["val"] | ids["test"]) == 150
    again = load_dataset(options, seed=0)
    assert np.array_equal(again.x_test, ds.x_test)  # seeded
    assert not np.array_equal(load_dataset(options, seed=1).x_test, ds.x_test)
    assert abs(counts["validation"] - 0.25 * 120) <= 2  # val_split keeps its meaning
    result = train(config(name, **{"data.test_split": 0.2}), run_dir=tmp_path / "run")
    assert result.metrics.test_count == 30


def test_test_split_on_data_with_a_test_split_is_refused(tmp_path: Path) -> None:
    name = write_npz(tmp_path / "data.npz", with_test=True)
    with pytest.raises(DatasetError, match="already has a test split"):
        load_dataset(DataOptions(name=name, test_split=0.2), seed=0)


def test_validating_on_the_test_split_says_there_is_no_untouched_test_set(tmp_path: Path) -> None:
    name = write_npz(tmp_path / "data.npz", with_test=True)
    ds = load_dataset(DataOptions(name=name, validation="test"), seed=0)
    assert ds.counts() == {"train": 150, "validation": 30, "test": 0}  # trains on all of x_train
    assert np.array_equal(ds.x_val[..., 0], patterns(30, 1)[0])
    events: list = []
    result = train(config(name, **{"data.validation": "test"}), events.append, run_dir=tmp_path / "run")
    m = result.metrics
    assert m.test_is_validation and m.test_count == m.val_count == 30
    assert m.test_accuracy == m.val_accuracy and m.test_loss == m.val_loss
    assert m.test_confusion_matrix == m.confusion_matrix
    started = next(e for e in events if isinstance(e, Started))
    assert "no untouched test set" in started.note


def test_validating_on_a_missing_test_split_is_refused_clearly() -> None:
    with pytest.raises(DatasetError, match="digits has no test split to validate on"):
        load_dataset(DataOptions(name="digits", validation="test"), seed=0)
    held_out = load_dataset(DataOptions(name="digits", validation="test", test_split=0.2, limit=200), seed=0)
    assert held_out.counts()["test"] == 0 and held_out.counts()["validation"] > 0


def test_early_stopping_evaluates_the_restored_best_weights(tmp_path: Path) -> None:
    name = write_npz(tmp_path / "data.npz", with_test=True)
    # Keras restores the best weights at the end of fit whenever early stopping kept some,
    # also when it never stopped: the figures must be of that epoch, and say so.
    result = train(
        config(
            name,
            **{
                "training.epochs": 8,
                "training.early_stopping": True,
                "training.patience": 20,
                "training.learning_rate": 0.05,
            },
        ),
        run_dir=tmp_path / "run",
    )
    m = result.metrics
    best = min(result.history, key=lambda e: e.val_loss)
    assert not result.stopped_early and m.evaluated_weights == "best" and m.evaluated_epoch == best.epoch
    assert m.val_loss == pytest.approx(best.val_loss, rel=0.02, abs=1e-6)  # a perfect model: both ~0
    assert m.train_loss == best.loss
    x_test, y_test = patterns(30, 1)
    assert m.test_accuracy == pytest.approx(predicted_accuracy(result.model, x_test, y_test))


def test_metrics_written_before_the_test_set_still_read() -> None:
    old = {
        "train_loss": 0.1,
        "train_accuracy": 0.9,
        "val_loss": 0.2,
        "val_accuracy": 0.8,
        "val_count": 10,
        "misclassified_count": 2,
        "misclassified": [],
        "confusion_matrix": [[4, 1], [1, 4]],
        "epochs_run": 3,
        "cancelled": False,
        "stopped_early": False,
        "feature_cache": False,
    }
    m = parse_metrics(old, Path("metrics.json"))
    assert m.test_accuracy is None and m.test_count == 0 and not m.test_is_validation
    assert m.evaluated_weights == "last" and m.seconds is None and m.trainable_params is None
