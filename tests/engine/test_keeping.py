"""Continue and fork planned before training: epochs named as the curves name them, a fork from a
late checkpoint always consistent, refusals in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import ConfigError, ExperimentConfig, RunError, keep_offer, plan_keep


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine import train

    config = ExperimentConfig().updated(**{"data.name": "digits", "data.limit": 100, "training.epochs": 3})
    result = train(config, runs_root=tmp_path_factory.mktemp("keep_runs"))
    assert result.failed is None
    return Path(result.run_dir)


def test_a_fork_plans_its_epochs_from_its_checkpoint_not_from_the_current_settings(run_dir: Path) -> None:
    offer = keep_offer(run_dir)
    assert (offer.done, offer.planned) == (3, 3) and offer.checkpoints[-1].epoch == 2
    current = ExperimentConfig().updated(**{"training.epochs": 2, "training.learning_rate": 0.0005})
    plan = plan_keep(run_dir, "fork", 5, epoch=2, current=current)  # 2 planned now: the old refusal
    assert (plan.epoch, plan.total) == (2, 8) and plan.summary == "Trains epochs 4–8 (8 in all)"
    assert plan.changes["training.learning_rate"] == 0.0005 and plan.config.parent.epoch == 2
    plan = plan_keep(run_dir, "continue", 1)
    assert (plan.epoch, plan.total) == (2, 4) and plan.summary == "Trains epoch 4 (4 in all)"


def test_refusals_are_one_line_before_anything_trains(run_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one epoch"):
        plan_keep(run_dir, "continue", 0)
    with pytest.raises(RunError, match="no checkpoint after epoch 2"):
        plan_keep(run_dir, "fork", 3, epoch=1, current=ExperimentConfig())
    with pytest.raises(RunError):
        plan_keep(tmp_path, "continue", 3)  # not a run


def test_training_refuses_a_frozen_base_of_random_weights(tmp_path: Path) -> None:
    from engine import train

    config = ExperimentConfig().updated(**{"arch.name": "mobilenet_v2", "arch.weights": "none", "data.name": "digits"})
    result = train(config, runs_root=tmp_path)
    assert result.failed is not None and "random weights" in result.failed and result.failed_kind == "config"
