"""Real (tiny) trainings on the embedded digits data: events, stop, NaN, seeds, run files."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.events import BatchEnd, EpochEnd, Failed, Finished, StageChanged, Started
from engine.runs.folders import load_run
from engine.runs.models import load_model_file

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.training.trainer import train


def tiny(**changes) -> ExperimentConfig:
    base = {"data.limit": 300, "training.epochs": 2, "training.batch_size": 32, "arch.name": "mlp"}
    return ExperimentConfig().updated(**(base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(tiny().data, seed=0)


def collect():
    events: list = []
    return events, events.append


def test_training_reports_events_and_writes_a_complete_run(digits, tmp_path: Path) -> None:
    events, observer = collect()
    result = train(tiny(), observer, dataset=digits, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished
    assert kinds.count(EpochEnd) == 2 and BatchEnd in kinds
    started = events[0]
    assert started.device == "CPU" and started.trainable_params == started.total_params > 0
    run = load_run(tmp_path / "run")
    assert [e.epoch for e in run.history] == [0, 1]
    assert run.config == tiny()
    m = run.metrics
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "misclassified_count", "misclassified"):
        assert key in saved
    assert m.misclassified_count == len(m.misclassified) == round((1 - m.val_accuracy) * m.val_count)
    matrix = np.array(m.confusion_matrix)
    assert matrix.shape == (10, 10) and matrix.sum() == m.val_count
    assert matrix.sum() - np.trace(matrix) == m.misclassified_count
    assert (matrix.sum(axis=1) == np.bincount(digits.y_val, minlength=10)).all()
    if saved["misclassified"]:
        wrong = saved["misclassified"][0]
        assert (
            set(wrong) == {"index", "source", "true", "predicted", "confidence", "array", "row"}
            and wrong["true"] != wrong["predicted"]
            and wrong["array"] == "x"
        )
    model = load_model_file(run.model_path)
    x = digits.x_val[:4].astype(np.float32)
    np.testing.assert_allclose(model(x), result.model(x), atol=1e-6)
    assert not list((tmp_path / "run").glob(".*")), "temporary files left behind"


def test_batch_events_are_throttled(digits, tmp_path: Path) -> None:
    events, observer = collect()
    train(tiny(**{"training.batch_size": 8, "training.epochs": 1}), observer, dataset=digits, run_dir=tmp_path / "r")
    batches = [e for e in events if isinstance(e, BatchEnd)]
    steps = batches[0].steps
    seconds = events[-1].metrics and max(b.seconds for b in batches)
    assert len(batches) <= steps
    assert len(batches) <= 10 * seconds + 3  # at most ~10 per second, plus the last batch of each epoch


def test_same_seed_same_result_on_cpu(digits, tmp_path: Path) -> None:
    config = tiny(**{"arch.name": "naive_cnn"})
    first = train(config, dataset=digits, run_dir=tmp_path / "a")
    second = train(config, dataset=digits, run_dir=tmp_path / "b")
    other = train(config.updated(**{"training.seed": 1}), dataset=digits, run_dir=tmp_path / "c")
    assert first.history[-1].loss == second.history[-1].loss
    assert first.history[-1].loss != other.history[-1].loss


def test_stop_takes_effect_within_one_batch_and_keeps_the_model(digits, tmp_path: Path) -> None:
    cancel = CancelToken()
    events: list = []

    stopped_at = {}

    def observer(event) -> None:
        events.append(event)
        if isinstance(event, BatchEnd) and event.step >= 1 and not cancel.cancelled:
            stopped_at["step"] = event.step
            cancel.cancel()

    config = tiny(**{"training.epochs": 50, "training.batch_size": 4})
    result = train(config, observer, cancel, dataset=digits, run_dir=tmp_path / "run")
    assert result.cancelled and result.failed is None
    assert len(result.history) == 1 and result.history[0].partial
    assert isinstance(events[-1], Finished) and events[-1].cancelled
    # Cancelled after batch s finished: Keras ran no further batch (s + 1 batches in all).
    assert int(result.model.optimizer.iterations.numpy()) == stopped_at["step"] + 1
    assert (tmp_path / "run" / "model.keras").is_file()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["cancelled"] is True


def test_cancel_from_another_thread(digits, tmp_path: Path) -> None:
    cancel = CancelToken()
    first_batch = threading.Event()

    def observer(event) -> None:
        if isinstance(event, BatchEnd):
            first_batch.set()

    box = {}
    worker = threading.Thread(
        target=lambda: box.setdefault(
            "r", train(tiny(**{"training.epochs": 500}), observer, cancel, dataset=digits, run_dir=tmp_path / "t")
        )
    )
    worker.start()
    assert first_batch.wait(120)
    cancel.cancel()
    worker.join(120)
    assert not worker.is_alive() and box["r"].cancelled


def test_diverging_training_is_reported_and_the_next_run_works(digits, tmp_path: Path) -> None:
    events, observer = collect()
    config = tiny(
        **{
            "training.optimizer": "sgd",
            "training.learning_rate": 10.0,
            "arch.activation": "elu",
            "arch.dropout": False,
            "training.epochs": 5,
        }
    )
    result = train(config, observer, dataset=digits, run_dir=tmp_path / "nan")
    assert result.failed_kind == "nan" and "diverged" in result.failed
    assert isinstance(events[-1], Failed) and events[-1].kind == "nan"
    metrics = json.loads((tmp_path / "nan" / "metrics.json").read_text())
    assert metrics["failed_kind"] == "nan"
    assert not (tmp_path / "nan" / "model.keras").exists()
    again = train(tiny(), dataset=digits, run_dir=tmp_path / "ok")
    assert again.failed is None


def test_bad_dataset_is_a_failed_event_not_an_exception(tmp_path: Path) -> None:
    events, observer = collect()
    result = train(tiny(**{"data.name": f"folder:{tmp_path / 'nowhere'}"}), observer)
    assert result.failed and result.failed_kind == "data"
    assert isinstance(events[-1], Failed) and "nowhere" in events[-1].reason


def test_unknown_layer_name_in_freezing_is_a_config_failure(digits, tmp_path: Path) -> None:
    result = train(tiny(layer_trainable={"no_such_layer": False}), dataset=digits, run_dir=tmp_path / "r")
    assert result.failed_kind == "config" and "no_such_layer" in result.failed


def test_frozen_layers_do_not_change(digits, tmp_path: Path) -> None:
    from engine.architectures import build_model
    from engine.architectures.layers import layer_table

    names = [
        row.name
        for row in layer_table(build_model(tiny().arch, digits.input_shape, digits.num_classes))
        if row.has_weights
    ]
    first = names[0]
    result = train(
        tiny(layer_trainable={first: False}, **{"training.feature_cache": False}),
        dataset=digits,
        run_dir=tmp_path / "r",
    )
    assert result.failed is None
    layer = result.model.get_layer(first)
    assert not layer.trainable
    fresh = train(
        tiny(layer_trainable={first: False}, **{"training.epochs": 1, "training.feature_cache": False}),
        dataset=digits,
        run_dir=tmp_path / "s",
    )
    # Same seed, same initial weights: a frozen layer ends where it started in both runs.
    np.testing.assert_array_equal(layer.get_weights()[0], fresh.model.get_layer(first).get_weights()[0])


def test_early_stopping_stops_and_restores_best(digits, tmp_path: Path) -> None:
    config = tiny(
        **{
            "training.epochs": 60,
            "training.early_stopping": True,
            "training.patience": 1,
            "training.learning_rate": 0.05,
        }
    )
    result = train(config, dataset=digits, run_dir=tmp_path / "r")
    assert result.stopped_early and len(result.history) < 60
    best = min(e.val_loss for e in result.history)
    assert result.metrics.val_loss == pytest.approx(best, rel=0.02)


def test_staged_fine_tuning_emits_stage_change_and_unfreezes(digits, tmp_path: Path) -> None:
    events, observer = collect()
    config = tiny(
        freeze_all_but=1, **{"training.epochs": 1, "training.stage2_epochs": 1, "training.stage2_unfreeze_last": 1}
    )
    result = train(config, observer, dataset=digits, run_dir=tmp_path / "r")
    assert result.failed is None, result.failed
    [change] = [e for e in events if isinstance(e, StageChanged)]
    assert change.stage == 2 and change.epoch == 1 and change.learning_rate == pytest.approx(1e-4)
    assert change.trainable_params > events[0].trainable_params
    assert [e.stage for e in result.history] == [1, 2]


def test_feature_cache_trains_the_head_only_and_matches_end_to_end(digits, tmp_path: Path) -> None:
    config = tiny(freeze_all_but=1, **{"arch.dropout": False, "training.epochs": 3})
    cached = train(config, dataset=digits, run_dir=tmp_path / "cached")
    plain = train(config.updated(**{"training.feature_cache": False}), dataset=digits, run_dir=tmp_path / "plain")
    assert cached.feature_cache_used and not plain.feature_cache_used
    assert cached.metrics.val_accuracy == pytest.approx(plain.metrics.val_accuracy, abs=0.02)
    # The saved full model is the trained one: it reproduces the cached run's validation accuracy.
    model = load_model_file(tmp_path / "cached" / "model.keras")
    predicted = np.asarray(model(digits.x_val.astype(np.float32))).argmax(axis=1)
    assert (predicted == digits.y_val).mean() == pytest.approx(cached.metrics.val_accuracy, abs=1e-9)


def test_augmentation_disables_the_feature_cache_and_trains(digits, tmp_path: Path) -> None:
    events, observer = collect()
    config = tiny(freeze_all_but=1, **{"augmentation.translation": 0.1, "training.epochs": 1})
    result = train(config, observer, dataset=digits, run_dir=tmp_path / "r")
    assert result.failed is None and not result.feature_cache_used
    assert "augmentation" in events[0].note


def test_every_optimizer_trains(digits, tmp_path: Path) -> None:
    for name in ("rmsprop", "adam", "sgd"):
        result = train(
            tiny(**{"training.optimizer": name, "training.epochs": 1}), dataset=digits, run_dir=tmp_path / name
        )
        assert result.failed is None and math.isfinite(result.metrics.val_loss)


def test_init_from_a_previous_run_copies_matching_layers(digits, tmp_path: Path) -> None:
    first = train(tiny(**{"training.epochs": 3}), dataset=digits, run_dir=tmp_path / "first")
    events, observer = collect()
    second = train(
        tiny(init_from=str(tmp_path / "first"), freeze_all_but=1, **{"training.epochs": 1}),
        observer,
        dataset=digits,
        run_dir=tmp_path / "second",
    )
    assert second.failed is None, second.failed
    assert "started from" in events[0].note
    np.testing.assert_array_equal(
        second.model.get_layer("dense_1").get_weights()[0], first.model.get_layer("dense_1").get_weights()[0]
    )
    # It starts where the first run ended, so it is at least as good after one more epoch.
    assert second.metrics.val_accuracy >= first.metrics.val_accuracy - 0.02
    bad = train(tiny(init_from=str(tmp_path / "nowhere")), dataset=digits, run_dir=tmp_path / "bad")
    assert bad.failed and "nowhere" in bad.failed


def test_an_exception_during_training_is_reported_and_the_history_kept(digits, tmp_path: Path) -> None:
    events: list = []

    def observer(event) -> None:
        events.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            raise RuntimeError("the display went away")

    result = train(tiny(**{"training.epochs": 4}), observer, dataset=digits, run_dir=tmp_path / "r")
    assert result.failed_kind == "error" and "display went away" in result.failed
    assert isinstance(events[-1], Failed)
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    assert [e["epoch"] for e in history] == [0, 1]
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["epochs_run"] == 2
    assert train(tiny(), dataset=digits, run_dir=tmp_path / "next").failed is None


def test_out_of_memory_is_a_clear_message_and_the_next_run_works(digits, tmp_path: Path) -> None:
    """A real allocator failure (a 4 TiB tensor, asked for in the training thread mid-epoch)."""
    import tensorflow as tf

    events: list = []

    def observer(event) -> None:
        events.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 0:
            tf.zeros((2**40,), tf.float32)  # TensorFlow's own ResourceExhaustedError, not a stand-in

    result = train(tiny(**{"training.epochs": 3}), observer, dataset=digits, run_dir=tmp_path / "oom")
    assert result.failed_kind == "oom"
    assert "out of memory" in result.failed and "smaller batch size" in result.failed
    assert isinstance(events[-1], Failed) and events[-1].kind == "oom"
    metrics = json.loads((tmp_path / "oom" / "metrics.json").read_text())
    assert metrics["failed_kind"] == "oom"
    assert [e["epoch"] for e in json.loads((tmp_path / "oom" / "history.json").read_text())] == [0]
    assert train(tiny(), dataset=digits, run_dir=tmp_path / "next").failed is None


def test_training_restores_the_mixed_precision_policy_in_force(digits, tmp_path: Path) -> None:
    """The config decides the policy while training; whatever was in force before is restored."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        result = train(tiny(**{"training.epochs": 1}), dataset=digits, run_dir=tmp_path / "r")
        assert result.failed is None
        assert result.model.dtype_policy.name == "float32"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy("float32")


class StopAtCheck(CancelToken):
    """Stop pressed at a moment of the test's choosing: the token reads as set from its
    `at`-th look on (the trainer looks before every batch, validation batch and step)."""

    def __init__(self, at: int | None = None) -> None:
        super().__init__()
        self.at, self.looks = at, 0

    @property
    def cancelled(self) -> bool:
        self.looks += 1
        return self.at is not None and self.looks >= self.at


@pytest.mark.slow
def test_a_stop_at_any_batch_records_no_figure_a_complete_epoch_would_not_give(digits, tmp_path: Path) -> None:
    config = tiny(**{"training.epochs": 3, "training.batch_size": 16, "training.deterministic": True})
    counting = StopAtCheck()
    complete = train(config, cancel=counting, dataset=digits, run_dir=tmp_path / "complete").history
    figures = ("loss", "accuracy", "val_loss", "val_accuracy")
    rng = np.random.default_rng(7)
    cut = set()
    for at in sorted(rng.choice(np.arange(2, counting.looks), 5, replace=False)):
        events, observer = collect()
        stopped = train(config, observer, StopAtCheck(int(at)), dataset=digits, run_dir=tmp_path / f"stop{at}")
        assert stopped.cancelled and stopped.failed is None
        ends = [e for e in events if isinstance(e, EpochEnd)]
        assert [e.partial for e in ends] == [e.partial for e in stopped.history]
        cut |= {("training" if e.batches < e.steps else "validation") for e in ends if e.partial}
        saved = json.loads((tmp_path / f"stop{at}" / "history.json").read_text())
        assert [e["epoch"] for e in saved] == [e.epoch for e in stopped.history]
        for entry, record in zip(stopped.history, saved):
            if entry.partial:  # cut short: no validation figure at all
                assert entry.val_loss is None and entry.val_accuracy is None and record["val_loss"] is None
                continue
            reference = complete[entry.epoch]
            for name in figures:  # complete epochs: exactly what the uninterrupted training logged
                assert getattr(entry, name) == pytest.approx(getattr(reference, name), abs=1e-6), (at, name)
        assert all(not e.partial for e in stopped.history[:-1]), "only the last epoch can be cut short"
    assert cut == {"training", "validation"}, "stops landed in both kinds of pass"
