"""Learning-rate schedules: the documented per-epoch rates, and a real training that
runs at them and records them in its history; and the deterministic switch."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from engine.config import ExperimentConfig, TrainingOptions
from engine.training.schedules import learning_rate_at

pytest.importorskip("tensorflow")
import itertools

from engine.core.events import EpochEnd
from engine.datasets import load_dataset
from engine.training.trainer import train


def rates(epochs: int, base: float = 0.1, **options) -> list[float]:
    opts = TrainingOptions(**options)
    return [learning_rate_at(e, epochs, base, opts) for e in range(epochs)]


def test_each_schedule_gives_the_documented_rates() -> None:
    assert rates(4) == [0.1] * 4
    assert rates(6, schedule="step", step_every=2, step_factor=0.5) == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    )
    assert rates(4, schedule="cosine") == pytest.approx(
        [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05, 0.1 * (1 + math.cos(3 * math.pi / 4)) / 2]
    )
    # Warm-up: base × (e + 1) / (W + 1), then the schedule over the remaining epochs.
    assert rates(5, schedule="cosine", warmup_epochs=2) == pytest.approx(
        [0.1 / 3, 0.2 / 3, 0.1, 0.1 * (1 + math.cos(math.pi / 3)) / 2, 0.1 * (1 + math.cos(2 * math.pi / 3)) / 2]
    )
    cycle = rates(10, schedule="one_cycle")
    assert cycle[0] == pytest.approx(0.1 / 25) and max(cycle) == pytest.approx(0.1) and cycle.index(max(cycle)) == 3
    assert all(a < b for a, b in itertools.pairwise(cycle[:4])) and all(a > b for a, b in itertools.pairwise(cycle[3:]))
    assert cycle[-1] < 0.1 / 10
    assert rates(1, schedule="cosine", warmup_epochs=3) == [0.1], "a one-epoch stage cannot warm up"


def tiny(**changes) -> ExperimentConfig:
    base = {"data.limit": 200, "training.epochs": 4, "training.batch_size": 32, "arch.name": "mlp"}
    return ExperimentConfig().updated(**(base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(tiny().data, seed=0)


def test_training_runs_at_the_schedule_and_records_each_epochs_rate(digits, tmp_path: Path) -> None:
    events: list = []
    config = tiny(
        **{
            "training.schedule": "step",
            "training.step_every": 1,
            "training.step_factor": 0.5,
            "training.learning_rate": 0.008,
            "training.warmup_epochs": 1,
            "training.stage2_epochs": 2,
            "training.stage2_lr_factor": 0.25,
        }
    )
    result = train(config, events.append, dataset=digits, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    expected = [0.004, 0.008, 0.004, 0.002, 0.001, 0.002]  # stage 2 starts again from 0.008 × 0.25
    assert [e.learning_rate for e in result.history] == pytest.approx(expected)
    assert [e.learning_rate for e in events if isinstance(e, EpochEnd)] == pytest.approx(expected)


def test_the_deterministic_switch_gives_the_same_history_to_the_last_digit(digits, tmp_path: Path) -> None:
    """With augmentation, whose parallel map otherwise draws its random numbers in whatever order
    the threads run; and the switch is put back afterwards."""
    from tensorflow.python.framework import config as tf_config

    config = tiny(
        **{
            "arch.name": "naive_cnn",
            "augmentation.rotation": 0.1,
            "augmentation.zoom": 0.1,
            "training.deterministic": True,
            "training.epochs": 3,
        }
    )
    seen = []
    first = train(
        config, lambda e: seen.append(tf_config.is_op_determinism_enabled()), dataset=digits, run_dir=tmp_path / "a"
    )
    second = train(config, dataset=digits, run_dir=tmp_path / "b")
    assert first.failed is None and all(seen)
    as_numbers = [(e.loss, e.accuracy, e.val_loss, e.val_accuracy) for e in first.history]
    assert as_numbers == [(e.loss, e.accuracy, e.val_loss, e.val_accuracy) for e in second.history]
    assert not tf_config.is_op_determinism_enabled()
