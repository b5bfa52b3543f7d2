"""Fast recipes, the target accuracy, training seconds per epoch, label smoothing and test-time
augmentation: the settings they fill, and real (tiny) trainings on the embedded digits."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.cli.main import build_parser
from engine.cli.options import config_from_args
from engine.config import ExperimentConfig, TrainingOptions
from engine.core.errors import ConfigError
from engine.lessons.catalogue import get_lesson
from engine.lessons.runner import offers_fast_recipe, prepare_lesson
from engine.runs.folders import load_run
from engine.training.recipes import FAST, LABEL_SMOOTHING, apply_recipe, describe_changes, recipe_changes
from engine.training.schedules import learning_rate_along


def cli_config(*flags: str) -> ExperimentConfig:
    return config_from_args(build_parser().parse_args(["train", *flags]))


# --- the recipe's settings (no TensorFlow) ---------------------------------------------------------------
def test_recipe_fast_fills_the_documented_settings() -> None:
    config = cli_config("--dataset", "shapes", "--arch", "bn_cnn", "--recipe", "fast")
    textbook = cli_config("--dataset", "shapes", "--arch", "bn_cnn")
    assert textbook.training.epochs == 10
    fast, t = FAST["bn_cnn"], config.training
    assert t.recipe == "fast" and textbook.training.recipe == "textbook"
    assert (t.optimizer, t.learning_rate, t.batch_size) == ("adam", fast.peak_rate, fast.batch_size)
    assert (t.schedule, t.schedule_per, t.warmup_epochs) == (fast.schedule, "batch", 0)
    assert t.epochs == max(fast.min_epochs, math.ceil(10 * fast.epoch_share))
    assert t.label_smoothing == fast.label_smoothing == LABEL_SMOOTHING and t.steps_per_execution == 1
    assert config.augmentation.flip == "both" and t.tta  # shapes keep their class when mirrored
    assert config.arch == textbook.arch and config.data == textbook.data  # the architecture is the lesson's point
    assert "optimizer adam → adam" not in describe_changes(textbook, config)
    assert "epochs 10 → 5" in describe_changes(textbook, config)


def test_flags_given_beside_the_recipe_win() -> None:
    config = cli_config("--arch", "mlp", "--recipe", "fast", "--epochs", "7", "--lr", "0.002")
    assert (config.training.epochs, config.training.learning_rate) == (7, 0.002)
    assert config.training.schedule == FAST["mlp"].schedule


def test_digits_are_never_flipped_and_then_there_is_nothing_to_average() -> None:
    config = apply_recipe(ExperimentConfig().updated(**{"arch.name": "mlp"}), "fast")
    assert config.augmentation.flip == "none" and not config.training.tta


def test_a_lesson_s_own_augmentation_is_kept() -> None:
    base = ExperimentConfig().updated(**{"arch.name": "cifar_cnn", "augmentation.translation": 0.1})
    assert "augmentation.flip" not in recipe_changes(base)


@pytest.mark.parametrize("arch", ["mobilenet_v2", "capsnet", "conv_autoencoder"])
def test_architectures_without_a_fast_recipe_are_refused_in_one_line(arch: str) -> None:
    with pytest.raises(ConfigError, match="fast recipe is for the classifiers built from scratch"):
        apply_recipe(ExperimentConfig().updated(**{"arch.name": arch}), "fast")


def test_textbook_changes_nothing_but_the_record() -> None:
    config = ExperimentConfig().updated(**{"training.optimizer": "rmsprop", "training.epochs": 20})
    assert apply_recipe(config, "textbook") == config


def test_lessons_offer_run_it_fast_where_their_architecture_has_a_recipe() -> None:
    assert offers_fast_recipe(get_lesson("mlp_mnist")) and offers_fast_recipe(get_lesson("naive_vs_bn_cnn"))
    assert not offers_fast_recipe(get_lesson("capsnet_mnist"))
    assert not offers_fast_recipe(get_lesson("imagenet_models"))
    lesson, note = prepare_lesson(get_lesson("mlp_mnist"), use_fallback=True, recipe="fast")
    t = lesson.base_config.training
    assert t.recipe == "fast" and t.epochs < 20 and "fast recipe: optimizer rmsprop → adam" in note
    grid, _ = prepare_lesson(get_lesson("naive_vs_bn_cnn"), use_fallback=True, recipe="fast")
    assert grid.base_config.training.learning_rate == FAST["naive_cnn"].peak_rate  # its first row's recipe
    cifar, _ = prepare_lesson(get_lesson("cifar_cnn_augmentation"), use_fallback=True, recipe="fast")
    assert cifar.base_config.training.label_smoothing == 0.0  # measured to hurt cifar_cnn
    assert grid.grid.factors == get_lesson("naive_vs_bn_cnn").grid.factors


def test_old_configs_load_with_the_textbook_behaviour() -> None:
    old = ExperimentConfig.from_dict({"schema_version": 2, "training": {"epochs": 4}})
    t = old.training
    assert (t.recipe, t.label_smoothing, t.tta, t.target_accuracy, t.steps_per_execution) == (
        "textbook",
        0.0,
        False,
        None,
        1,
    )
    assert t.schedule_per == "epoch" and old.schema_version == 3


def test_target_accuracy_is_a_fraction() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--target-accuracy", "97"])
    assert cli_config("--target-accuracy", "0.97").training.target_accuracy == 0.97


def test_one_cycle_moves_every_batch_from_a_25th_to_the_peak_and_down() -> None:
    options = TrainingOptions(schedule="one_cycle", schedule_per="batch")
    rates = [learning_rate_along(p / 10, 3, 0.01, options) for p in range(31)]
    assert rates[0] == pytest.approx(0.01 / 25)
    assert max(rates) == pytest.approx(0.01, rel=0.05) and rates.index(max(rates)) == 9  # 30 % of 3 epochs
    assert rates[-1] == pytest.approx(0.01 / 1e4)
    rising, falling = rates[:10], rates[9:]
    assert all(a < b for a, b in itertools.pairwise(rising)) and all(a > b for a, b in itertools.pairwise(falling))


# --- real trainings ----------------------------------------------------------------------------------------
tf = pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.training.losses import SmoothedSparseCrossentropy, averaged_forward, tta_flips
from engine.training.trainer import train


def tiny(**changes) -> ExperimentConfig:
    base = {"data.limit": 300, "training.epochs": 2, "training.batch_size": 32, "arch.name": "mlp"}
    return ExperimentConfig().updated(**(base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(tiny().data, seed=0)


def test_seconds_are_recorded_at_each_epoch_s_end(digits, tmp_path: Path) -> None:
    result = train(tiny(**{"training.epochs": 3}), dataset=digits, run_dir=tmp_path / "run")
    elapsed = [entry.elapsed_seconds for entry in result.history]
    assert all(s is not None and s > 0 for s in elapsed) and elapsed == sorted(elapsed)
    assert elapsed[0] <= result.history[0].seconds + 1e-3  # the first epoch's own time, nothing before it
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [entry["elapsed_seconds"] for entry in history] == elapsed
    assert metrics["elapsed_seconds"] == elapsed and metrics["train_seconds"] == elapsed[-1]
    assert metrics["train_seconds"] < metrics["seconds"]  # set-up and evaluation left out


def test_target_accuracy_stops_at_the_first_epoch_that_reaches_it(digits, tmp_path: Path) -> None:
    free = train(tiny(**{"training.epochs": 8}), dataset=digits, run_dir=tmp_path / "free")
    accuracies = [entry.val_accuracy for entry in free.history]
    target = sorted(accuracies)[len(accuracies) // 2]  # reached part-way through
    first = next(i for i, a in enumerate(accuracies) if a >= target)
    assert first < 7
    result = train(
        tiny(**{"training.epochs": 8, "training.target_accuracy": target}), dataset=digits, run_dir=tmp_path / "t"
    )
    assert len(result.history) == first + 1 and result.reached_target
    assert not result.cancelled and not result.metrics.cancelled and result.metrics.reached_target
    run = load_run(tmp_path / "t")  # complete: model, metrics, history
    assert run.metrics.epochs_run == first + 1 and (tmp_path / "t" / "model.keras").is_file()
    assert not any(entry.partial for entry in run.history)


def test_a_run_without_seconds_still_opens(digits, tmp_path: Path) -> None:
    train(tiny(), dataset=digits, run_dir=tmp_path / "old")
    history = json.loads((tmp_path / "old" / "history.json").read_text())
    metrics = json.loads((tmp_path / "old" / "metrics.json").read_text())
    for entry in history:
        del entry["elapsed_seconds"]
    for key in ("elapsed_seconds", "train_seconds", "reached_target", "tta_views"):
        del metrics[key]
    (tmp_path / "old" / "history.json").write_text(json.dumps(history))
    (tmp_path / "old" / "metrics.json").write_text(json.dumps(metrics))
    run = load_run(tmp_path / "old")
    assert [entry.elapsed_seconds for entry in run.history] == [None, None]
    assert run.metrics.train_seconds is None and run.metrics.elapsed_seconds == []


def test_the_fast_recipe_trains_with_every_trick(tmp_path: Path) -> None:
    config = apply_recipe(
        ExperimentConfig().updated(
            **{"data.name": "shapes", "data.limit": 200, "data.image_size": 16, "arch.name": "naive_cnn"}
        ),
        "fast",
    ).updated(**{"training.steps_per_execution": 2, "training.batch_size": 32})  # 5 batches, 3 calls per epoch
    result = train(config, run_dir=tmp_path / "fast")
    assert result.failed is None
    rates = [entry.learning_rate for entry in result.history]
    assert rates[-1] < rates[0] < FAST["naive_cnn"].peak_rate  # moved within the cycle, ended far down
    assert result.metrics.tta_views == 3  # the image and its two mirror images
    assert load_run(tmp_path / "fast").config.training.recipe == "fast"


def test_label_smoothing_moves_the_targets_towards_uniform() -> None:
    predicted = np.array([[0.7, 0.2, 0.1]], np.float32)
    loss = float(SmoothedSparseCrossentropy(0.3)(np.array([0]), predicted))
    targets = np.array([0.7 + 0.1, 0.1, 0.1])
    assert loss == pytest.approx(-(targets * np.log(predicted[0])).sum(), rel=1e-5)


def test_test_time_augmentation_averages_the_mirror_images() -> None:
    import keras

    from engine.config import Augmentation

    inputs = keras.Input((2, 2, 1))
    model = keras.Model(inputs, keras.layers.Flatten()(inputs))
    image = np.arange(4, dtype=np.float32).reshape(1, 2, 2, 1)
    flips = tta_flips(Augmentation(flip="horizontal"), True)
    assert flips == [(False, False), (True, False)] and tta_flips(Augmentation(flip="horizontal"), False) == flips[:1]
    averaged = np.asarray(averaged_forward(model, flips)(tf.constant(image)))
    assert averaged[0].tolist() == [0.5, 0.5, 2.5, 2.5]


def test_a_grid_can_vary_the_recipe_of_the_same_network() -> None:
    from engine.experiments.settings import apply_settings, coerce_value

    base = ExperimentConfig().updated(**{"arch.name": "bn_cnn", "arch.batchnorm": True})
    assert coerce_value("training.recipe", "fast") == "fast"
    fast = apply_settings(base, {"training.recipe": "fast", "training.epochs": 2})
    assert fast.training.recipe == "fast" and fast.training.epochs == 2  # the combination's settings win
    assert fast.training.schedule == FAST["bn_cnn"].schedule and fast.arch == base.arch
    assert apply_settings(base, {"training.recipe": "textbook"}) == base


def test_train_recipe_fast_says_what_it_changed_and_records_it(capsys, tmp_path: Path) -> None:
    from engine.cli.main import main

    args = ["train", "--dataset", "digits", "--limit", "200", "--recipe", "fast", "--epochs", "2"]
    code = main([*args, "--target-accuracy", "0.05", "--out", str(tmp_path / "r"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["recipe"] == "fast" and data["reached_target"] and data["epochs_run"] == 1  # any model beats 5 %
    assert "fast recipe: optimizer adam → adam" not in err and "fast recipe: learning rate 0.001 → 0.004" in err
    assert load_run(tmp_path / "r").config.training.schedule == FAST["mlp"].schedule
