"""An autoencoder trains through the one trainer, so it keeps what a classifier keeps: it pauses
(also when the token is paused before it starts), stops and resumes from its last complete
epoch, continues for more epochs and forks, and a killed `layerlab-cli train --task autoencoder`
resumes with `--resume`. The tests wait on events, never on sleeps."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken, PauseToken
from engine.core.events import Continued, EpochEnd, Finished, Paused, Started
from engine.training.capabilities import task_supports

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.training.resume import continue_run, fork_run, resume_run
from engine.training.trainer import train
from tests.engine.test_kill_resume import cli, kill_during_epoch

WAIT_S = 120


def config(**changes) -> ExperimentConfig:
    base = {
        "task": "autoencoder",
        "arch.name": "dense_autoencoder",
        "arch.noise": 0.3,
        "training.epochs": 3,
        "training.batch_size": 32,
        "data.limit": 200,
    }
    return ExperimentConfig().updated(**(base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(config().data, seed=0)


class Recorder:
    def __init__(self, stop_after_epoch: int | None = None, cancel: CancelToken | None = None) -> None:
        self.events: list = []
        self.paused = threading.Event()
        self.stop_after_epoch, self.cancel = stop_after_epoch, cancel

    def __call__(self, event) -> None:
        self.events.append(event)
        if isinstance(event, Paused):
            self.paused.set()
        if isinstance(event, EpochEnd) and event.epoch == self.stop_after_epoch and self.cancel is not None:
            self.cancel.cancel()

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def test_both_tasks_can_pause_and_resume_and_the_window_asks_before_offering_more() -> None:
    for task in ("classification", "autoencoder"):
        assert task_supports(task, "pause") and task_supports(task, "resume")
    assert task_supports("classification", "lr_finder") and not task_supports("autoencoder", "lr_finder")
    assert task_supports("autoencoder", "reconstruct") and not task_supports("autoencoder", "classify")


def test_an_autoencoder_given_a_paused_token_holds_before_its_first_batch_ends(digits, tmp_path: Path) -> None:
    pause, cancel = PauseToken(), CancelToken()
    pause.pause()
    recorder = Recorder()
    box: dict = {}
    worker = threading.Thread(
        target=lambda: box.setdefault(
            "result", train(config(), recorder, cancel, dataset=digits, run_dir=tmp_path / "run", pause=pause)
        )
    )
    worker.start()
    assert recorder.paused.wait(WAIT_S), "an autoencoder must pause like a classifier"
    [paused] = recorder.of(Paused)
    assert (paused.epoch, paused.step) == (0, 0) and worker.is_alive()
    pause.resume()
    worker.join(WAIT_S)
    result = box["result"]
    assert result.failed is None and not result.cancelled
    assert recorder.of(Continued) and isinstance(recorder.events[-1], Finished)
    assert [e.epoch for e in result.history] == [0, 1, 2]
    assert result.metrics.reconstruction_error is not None


def test_a_stopped_autoencoder_resumes_continues_and_forks(digits, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cancel = CancelToken()
    stopped = train(config(), Recorder(stop_after_epoch=0, cancel=cancel), cancel, dataset=digits, run_dir=run)
    assert stopped.cancelled and stopped.failed is None
    assert (run / "checkpoints").is_dir() and len(stopped.history) >= 1

    recorder = Recorder()
    resumed = resume_run(run, observer=recorder, dataset=digits)
    assert resumed.failed is None, resumed.failed
    assert [e.epoch for e in resumed.history] == [0, 1, 2], "one entry per epoch, no gap, no duplicate"
    assert not any(e.partial for e in resumed.history)
    assert recorder.of(Started) and resumed.metrics.reconstruction_error is not None
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["epochs_run"] == 3 and saved["reconstruction_error"] > 0 and saved["noisy_input_error"] > 0

    more = continue_run(run, 1, dataset=digits)
    assert more.failed is None and [e.epoch for e in more.history] == [0, 1, 2, 3]

    changes = {"training.learning_rate": 1e-4, "training.epochs": 5}  # from its last epoch, one more
    fork = fork_run(run, 3, changes, dataset=digits, runs_root=tmp_path / "forks")
    assert fork.failed is None and fork.run_dir.parent == tmp_path / "forks"
    assert [e.epoch for e in fork.history] == [0, 1, 2, 3, 4]
    assert [e.loss for e in fork.history[:4]] == [e.loss for e in more.history], "the parent's epochs"


@pytest.mark.slow
def test_a_killed_autoencoder_training_resumes_from_the_command_line(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_args = [
        "train",
        "--task",
        "autoencoder",
        "--arch",
        "dense_autoencoder",
        "--dataset",
        "digits",
        "--epochs",
        "8",
        "--batch-size",
        "8",
    ]
    kill_during_epoch(run, 3, train_args)
    assert not (run / "metrics.json").exists(), "killed, not stopped"
    resumed = cli("train", "--resume", str(run), "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming at epoch " in resumed.stderr
    history = json.loads((run / "history.json").read_text())
    assert [e["epoch"] for e in history] == list(range(8))
    result = json.loads(resumed.stdout)
    assert result["epochs_run"] == 8 and result["reconstruction_error"] is not None
