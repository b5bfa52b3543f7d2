"""Runs side by side: the settings that differ, short labels, and real run folders
(`layerlab-cli compare`: tests/engine/test_cli_experiments.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import ExperimentConfig
from engine.core.errors import RunError
from engine.experiments.compare import compare_runs, config_differences, label_run


def config(**changes) -> ExperimentConfig:
    return ExperimentConfig().updated(**changes)


def test_only_the_settings_that_differ_in_config_order() -> None:
    configs = [
        config(**{"training.learning_rate": 0.01, "arch.batchnorm": True}),
        config(**{"arch.dropout": False, "arch.batchnorm": False}),
        config(**{"arch.dropout_rate": 0.25, "arch.batchnorm": True}),
    ]
    differences = config_differences(configs)
    assert list(differences) == ["arch.dropout", "arch.batchnorm", "training.learning_rate"]
    assert differences["arch.dropout"] == [0.5, 0.0, 0.25]  # the rate in force; 0 when off
    assert differences["arch.batchnorm"] == [True, False, True]
    assert differences["training.learning_rate"] == [0.01, 0.001, 0.001]
    assert config_differences([config(), config()]) == {}
    # Dropout off at two different (unused) rates is no difference.
    assert (
        config_differences(
            [config(**{"arch.dropout": False}), config(**{"arch.dropout": False, "arch.dropout_rate": 0.2})]
        )
        == {}
    )


def test_per_layer_choices_are_settings_too() -> None:
    differences = config_differences([config(layer_trainable={"dense_1": False}), config()])
    assert differences == {"layer_trainable.dense_1": [False, None]}
    assert label_run(differences, 0) == "dense_1 frozen" and label_run(differences, 1) == "dense_1 default"


def test_labels_name_each_run_by_what_differs() -> None:
    differences = {"arch.dropout": [0.5, 0.0], "arch.batchnorm": [False, True]}
    assert label_run(differences, 0) == "dropout 0.5 · bn off"
    assert label_run(differences, 1) == "dropout off · bn on"
    assert (
        label_run({"training.learning_rate": [0.01, 0.001], "arch.name": ["mlp", "bn_cnn"]}, 1) == "lr 0.001 · bn_cnn"
    )
    assert label_run({"freeze_all_but": [1, None]}, 0) == "train last 1"
    augmentation = config_differences(
        [config(**{"augmentation.rotation": 0.1, "augmentation.flip": "horizontal"}), config()]
    )
    assert label_run(augmentation, 0) == "aug flip horizontal, rotation 0.1"
    assert label_run(augmentation, 1) == "aug off"
    assert label_run({}, 0) == ""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> list[Path]:
    pytest.importorskip("tensorflow")
    from engine.training.trainer import train

    root = tmp_path_factory.mktemp("compare")
    base = {"data.limit": 100, "training.epochs": 2, "training.batch_size": 32}
    paths = []
    for name, dropout in (("with", True), ("without", False)):
        result = train(config(**base, **{"arch.dropout": dropout}), run_dir=root / name)
        assert result.failed is None, result.failed
        paths.append(root / name)
    return paths


def test_compare_runs_reads_the_figures_of_real_runs(two_runs: list[Path]) -> None:
    comparison = compare_runs(two_runs)
    assert comparison.differences == {"arch.dropout": [0.5, 0.0]}
    first, second = comparison.runs
    assert (first.label, second.label) == ("dropout 0.5", "dropout off")
    metrics = json.loads((two_runs[0] / "metrics.json").read_text())
    assert first.run_dir == str(two_runs[0]) and first.val_accuracy == metrics["val_accuracy"]
    assert first.val_loss == metrics["val_loss"] and first.epochs_run == 2
    assert first.trainable_params == metrics["trainable_params"] > 0 and first.seconds == metrics["seconds"] > 0
    assert first.test_accuracy is None and first.test_loss is None  # digits has no test split


def test_identical_settings_fall_back_to_the_folder_names(two_runs: list[Path]) -> None:
    comparison = compare_runs([two_runs[0], two_runs[0]])
    assert comparison.differences == {}
    assert [row.label for row in comparison.runs] == ["with", "with (2)"]


def test_a_broken_or_missing_run_is_named(two_runs: list[Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"training": {"epochs": -1}}')
    with pytest.raises(RunError, match="broken"):
        compare_runs([two_runs[0], broken])
    with pytest.raises(RunError, match="nowhere"):
        compare_runs([two_runs[0], tmp_path / "nowhere"])
