"""The learning-rate finder on the real digits data: a sweep on a copy, and a suggestion
that trains at least as well as the default rate."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError
from engine.core.events import LrProbe

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.training.lr_finder import find_learning_rate
from engine.training.trainer import train


def digits_mlp(**changes) -> ExperimentConfig:
    return ExperimentConfig().updated(**({"arch.name": "mlp", "training.epochs": 3} | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(digits_mlp().data, seed=0)


@pytest.fixture(scope="module")
def sweep(digits):
    events: list = []
    config = digits_mlp()
    before = config.model_dump()
    result = find_learning_rate(config, dataset=digits, observer=events.append)
    assert config.model_dump() == before, "the config is untouched"
    return result, events


def test_the_sweep_grows_the_rate_exponentially_and_stops_when_the_loss_explodes(sweep) -> None:
    result, events = sweep
    lrs = np.array(result.lrs)
    assert lrs[0] == pytest.approx(1e-7) and len(lrs) == len(result.losses) > 20
    ratios = lrs[1:] / lrs[:-1]
    assert np.allclose(ratios, (10.0 / 1e-7) ** (1 / 99)), "one exponential step per batch"
    assert result.stopped_early and lrs[-1] < 10.0, "Adam at a rate of 10 explodes on digits"
    assert result.losses[-1] > 2 * min(result.losses)
    probes = [e for e in events if isinstance(e, LrProbe)]
    assert [p.step for p in probes] == list(range(len(lrs))) and probes[-1].steps == 100
    assert [p.lr for p in probes] == result.lrs and all(math.isfinite(p.loss) for p in probes)
    lowest = result.lrs[int(np.argmin(result.losses))]
    assert result.suggested_lr == pytest.approx(lowest / 10)


def test_the_suggestion_trains_at_least_as_well_as_the_default_rate(sweep, digits, tmp_path: Path) -> None:
    suggested = sweep[0].suggested_lr
    default = train(digits_mlp(), dataset=digits, run_dir=tmp_path / "default")
    found = train(digits_mlp(**{"training.learning_rate": suggested}), dataset=digits, run_dir=tmp_path / "found")
    assert default.failed is None and found.failed is None
    assert found.metrics.val_accuracy >= default.metrics.val_accuracy - 0.01, (
        suggested,
        found.metrics.val_accuracy,
        default.metrics.val_accuracy,
    )


def test_a_bad_range_is_refused(digits) -> None:
    with pytest.raises(ConfigError):
        find_learning_rate(digits_mlp(), dataset=digits, start=1.0, end=0.1)
