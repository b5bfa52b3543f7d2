"""Checkpoints, resume, continue and fork, with real tiny trainings on digits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import ConfigError, RunError
from engine.core.events import BatchEnd, CheckpointSaved, EpochEnd, Resumed, Started
from engine.runs.checkpoints import list_checkpoints, read_checkpoint
from engine.runs.folders import load_run, summarise_run

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.runs.checkpoints import latest_checkpoint
from engine.training.resume import continue_run, fork_run, resume_run
from engine.training.trainer import train


def tiny(**changes) -> ExperimentConfig:
    base = {"data.limit": 300, "training.epochs": 4, "training.batch_size": 32, "arch.name": "mlp"}
    return ExperimentConfig().updated(**(base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(tiny().data, seed=0)


def stop_in_epoch(epoch: int, cancel: CancelToken, events: list):
    """An observer that stops the training at the third batch of `epoch`."""

    def observer(event) -> None:
        events.append(event)
        if isinstance(event, BatchEnd) and event.epoch == epoch and event.step >= 2:
            cancel.cancel()

    return observer


def steps(dataset) -> int:
    return math.ceil(len(dataset.x_train) / 32)


def losses(result) -> list[float]:
    return [entry.loss for entry in result.history]


def test_a_finished_run_keeps_its_last_epoch_and_its_best(digits, tmp_path: Path) -> None:
    events: list = []
    result = train(tiny(), events.append, dataset=digits, run_dir=tmp_path / "run")
    kept = list_checkpoints(tmp_path / "run")
    assert kept and kept[-1].epoch == 3, "always a checkpoint of the last epoch"
    assert 1 <= len(kept) <= 2 and sum(c.best for c in kept) == 1
    best = min(result.history, key=lambda e: e.val_loss)
    assert [c.epoch for c in kept if c.best] == [best.epoch], "the best is the best epoch, even if not written at once"
    saved = [e for e in events if isinstance(e, CheckpointSaved)]
    assert saved[-1].epoch == 3 and Path(saved[-1].path) == kept[-1].path
    state = read_checkpoint(kept[-1])
    assert [e.epoch for e in state.history] == [0, 1, 2, 3] and state.stage == 1
    assert {e["kind"] for e in state.entries} == {"model", "optimizer"}
    assert result.checkpoint_seconds > 0
    assert not [p for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.startswith(".")]


def test_stopped_mid_epoch_resumes_to_the_same_run_as_without_the_stop(digits, tmp_path: Path) -> None:
    """Weights, optimizer, dropout seeds and the shuffle order all continue: the resumed run is
    the uninterrupted one, to the last bit, on the CPU."""
    straight = train(tiny(), dataset=digits, run_dir=tmp_path / "straight")
    cancel, events = CancelToken(), []
    stopped = train(tiny(), stop_in_epoch(2, cancel, events), cancel, dataset=digits, run_dir=tmp_path / "r")
    assert stopped.cancelled and stopped.history[-1].partial and latest_checkpoint(tmp_path / "r").epoch == 1
    events = []
    resumed = train(tiny(), events.append, dataset=digits, run_dir=tmp_path / "r", resume=True)
    assert resumed.failed is None, resumed.failed
    [note] = [e for e in events if isinstance(e, Resumed)]
    assert note.from_epoch == 2 and note.epochs == 4 and [e.epoch for e in note.history] == [0, 1]
    assert [type(e) for e in events].index(Started) < [type(e) for e in events].index(Resumed)
    history = json.loads((tmp_path / "r" / "history.json").read_text())
    assert [e["epoch"] for e in history] == [0, 1, 2, 3] and not any(e["partial"] for e in history)
    assert losses(resumed) == losses(straight)
    for mine, theirs in zip(resumed.model.get_weights(), straight.model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert int(resumed.model.optimizer.iterations) == int(straight.model.optimizer.iterations) == 4 * steps(digits)
    assert load_run(tmp_path / "r").metrics.epochs_run == 4


@pytest.mark.slow
def test_resume_inside_stage_two_unfreezes_again_and_continues(digits, tmp_path: Path) -> None:
    config = tiny(
        freeze_all_but=1,
        **{
            "training.epochs": 2,
            "training.stage2_epochs": 3,
            "training.stage2_unfreeze_last": 1,
            "training.feature_cache": False,
        },
    )
    straight = train(config, dataset=digits, run_dir=tmp_path / "straight")
    cancel = CancelToken()
    train(config, stop_in_epoch(3, cancel, []), cancel, dataset=digits, run_dir=tmp_path / "r")
    assert latest_checkpoint(tmp_path / "r").stage == 2
    resumed = train(config, dataset=digits, run_dir=tmp_path / "r", resume=True)
    assert [e.stage for e in resumed.history] == [1, 1, 2, 2, 2]
    assert losses(resumed) == pytest.approx(losses(straight), rel=1e-6)


def test_a_crash_keeps_the_last_complete_epoch_and_resume_goes_on(digits, tmp_path: Path) -> None:
    def observer(event) -> None:
        if isinstance(event, EpochEnd) and event.epoch == 1:
            raise RuntimeError("the display went away")

    crashed = train(tiny(), observer, dataset=digits, run_dir=tmp_path / "run")
    assert crashed.failed_kind == "error"
    assert latest_checkpoint(tmp_path / "run").epoch == 1, "written on the way out, whatever the time budget said"
    resumed = resume_run(tmp_path / "run", dataset=digits)
    assert resumed.failed is None and [e.epoch for e in resumed.history] == [0, 1, 2, 3]


def test_a_diverged_fork_keeps_its_starting_point_to_fork_again_at_a_lower_rate(digits, tmp_path: Path) -> None:
    config = tiny(
        **{
            "training.optimizer": "sgd",
            "training.learning_rate": 0.05,
            "arch.dropout": False,
            "arch.activation": "elu",
            "training.epochs": 2,
        }
    )
    assert train(config, dataset=digits, run_dir=tmp_path / "runs" / "good").failed is None
    wild = fork_run(
        tmp_path / "runs" / "good", 1, {"training.learning_rate": 10.0, "training.epochs": 6}, dataset=digits
    )
    assert wild.failed_kind == "nan"
    kept = latest_checkpoint(wild.run_dir)
    assert kept is not None and kept.epoch == 1, "a fork starts by keeping its parent's checkpoint"
    assert all(np.isfinite(a).all() for a in read_checkpoint(kept).arrays if a.dtype.kind == "f")
    calm = fork_run(wild.run_dir, 1, {"training.learning_rate": 0.01}, dataset=digits)
    assert calm.failed is None and len(calm.history) == 6


def test_continue_adds_epochs_in_the_same_folder_and_the_optimizer_goes_on(digits, tmp_path: Path) -> None:
    first = train(tiny(**{"training.epochs": 2}), dataset=digits, run_dir=tmp_path / "run")
    more = continue_run(tmp_path / "run", 2, dataset=digits)
    assert more.failed is None and more.run_dir == tmp_path / "run"
    assert [e.epoch for e in more.history] == [0, 1, 2, 3]
    assert losses(more)[:2] == losses(first)
    assert int(more.model.optimizer.iterations) == 4 * steps(digits), "the optimizer's step count went on"
    # No loss spike: Adam's moments came back with the weights.
    assert more.history[2].loss < first.history[1].loss * 1.05
    assert json.loads((tmp_path / "run" / "config.json").read_text())["training"]["epochs"] == 4
    with pytest.raises(ConfigError):
        resume_run(tmp_path / "run")  # all 4 planned epochs are done


def test_fork_records_its_parent_changes_settings_and_starts_from_that_epoch(digits, tmp_path: Path) -> None:
    parent = train(tiny(**{"training.epochs": 3}), dataset=digits, run_dir=tmp_path / "runs" / "parent")
    epoch = latest_checkpoint(tmp_path / "runs" / "parent").epoch
    weights = {
        e["layer"]: a
        for e, a in zip(
            read_checkpoint(latest_checkpoint(tmp_path / "runs" / "parent")).entries,
            read_checkpoint(latest_checkpoint(tmp_path / "runs" / "parent")).arrays,
        )
        if e["kind"] == "model" and e["index"] == 0 and e["layer"] == "dense_1"
    }
    events: list = []
    fork = fork_run(
        tmp_path / "runs" / "parent",
        epoch,
        {"freeze_all_but": 1, "training.learning_rate": 1e-4, "training.epochs": epoch + 3},
        observer=events.append,
        dataset=digits,
    )
    assert fork.failed is None, fork.failed
    assert fork.run_dir.parent == tmp_path / "runs" and fork.run_dir.name != "parent"
    config = json.loads((fork.run_dir / "config.json").read_text())
    assert config["parent"] == {"run": str(tmp_path / "runs" / "parent"), "epoch": epoch}
    assert config["freeze_all_but"] == 1 and config["training"]["learning_rate"] == 1e-4
    summary = summarise_run(fork.run_dir)
    assert summary.parent == str(tmp_path / "runs" / "parent") and summary.parent_epoch == epoch
    # Its history starts with the parent's epochs, then its own, at the new rate.
    assert [e.epoch for e in fork.history] == list(range(epoch + 3))
    assert losses(fork)[: epoch + 1] == losses(parent)[: epoch + 1]
    assert all(e.learning_rate == pytest.approx(1e-4) for e in fork.history[epoch + 1 :])
    # A frozen layer keeps the checkpoint's weights: the fork started from them.
    np.testing.assert_array_equal(fork.model.get_layer("dense_1").get_weights()[0], weights["dense_1"])
    [resumed] = [e for e in events if isinstance(e, Resumed)]
    assert resumed.from_epoch == epoch + 1 and "fresh optimizer" in resumed.note  # fewer trainable layers
    # The parent is untouched.
    assert [e.epoch for e in load_run(tmp_path / "runs" / "parent").history] == [0, 1, 2]


def test_going_on_without_a_checkpoint_is_refused_with_a_reason(digits, tmp_path: Path) -> None:
    with pytest.raises(RunError, match="not a LayerLab run"):
        resume_run(tmp_path / "nowhere")
    result = train(tiny(), dataset=digits, run_dir=tmp_path / "fresh", resume=True)
    assert result.failed_kind == "config" and "no checkpoint" in result.failed
    assert train(tiny(**{"training.epochs": 1}), dataset=digits, run_dir=tmp_path / "run").failed is None
    with pytest.raises(RunError, match="keeps no checkpoint of epoch 7"):
        fork_run(tmp_path / "run", 7, {}, dataset=digits)
    with pytest.raises(ConfigError, match="more than 1 planned epochs"):
        fork_run(tmp_path / "run", 0, {}, dataset=digits)


def test_a_damaged_checkpoint_is_a_clear_error(digits, tmp_path: Path) -> None:
    train(tiny(**{"training.epochs": 1}), dataset=digits, run_dir=tmp_path / "run")
    [kept] = list_checkpoints(tmp_path / "run")
    data = kept.path.read_bytes()
    kept.path.write_bytes(data[: len(data) // 2])
    assert list_checkpoints(tmp_path / "run") == []
    with pytest.raises(RunError):
        read_checkpoint(kept.path)
