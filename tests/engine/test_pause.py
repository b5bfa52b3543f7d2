"""Pause and resume a real training from another thread: it holds after the current
batch with everything in memory, goes on where it was, and Stop still works while paused.
The tests wait on events, never on sleeps."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken, PauseToken
from engine.core.events import BatchEnd, Continued, Finished, Paused

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.training.trainer import train

WAIT_S = 120


def tiny(**changes) -> ExperimentConfig:
    base = {"data.limit": 300, "training.epochs": 2, "training.batch_size": 16, "arch.name": "mlp"}
    return ExperimentConfig().updated(**(base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(tiny().data, seed=0)


class Pauser:
    """Observer that pauses the training at its first BatchEnd of epoch 1 and records events."""

    def __init__(self, pause: PauseToken) -> None:
        self.pause = pause
        self.events: list = []
        self.paused = threading.Event()
        self.at_step: int | None = None

    def __call__(self, event) -> None:
        self.events.append(event)
        if isinstance(event, BatchEnd) and event.epoch == 1 and self.at_step is None:
            self.at_step = event.step
            self.pause.pause()
        if isinstance(event, Paused):
            self.paused.set()


def start(config, observer, cancel, pause, digits, run_dir: Path) -> tuple[threading.Thread, dict]:
    box: dict = {}
    worker = threading.Thread(
        target=lambda: box.setdefault(
            "result", train(config, observer, cancel, dataset=digits, run_dir=run_dir, pause=pause)
        )
    )
    worker.start()
    return worker, box


def test_pause_holds_after_the_batch_and_resume_goes_on_where_it_was(digits, tmp_path: Path) -> None:
    pause, cancel = PauseToken(), CancelToken()
    observer = Pauser(pause)
    worker, box = start(tiny(), observer, cancel, pause, digits, tmp_path / "run")
    assert observer.paused.wait(WAIT_S), "never paused"
    held = len(observer.events)
    assert pause.paused and worker.is_alive()
    [paused] = [e for e in observer.events if isinstance(e, Paused)]
    assert (paused.epoch, paused.step) == (1, observer.at_step)
    assert isinstance(observer.events[-1], Paused), "nothing happens while paused"
    pause.resume()
    worker.join(WAIT_S)
    assert not worker.is_alive()
    result = box["result"]
    assert result.failed is None and not result.cancelled
    kinds = [type(e) for e in observer.events[held:]]
    assert kinds[0] is Continued and kinds[-1] is Finished
    # Every batch ran exactly once: none lost or repeated around the pause.
    steps = math.ceil(len(digits.x_train) / 16)
    assert int(result.model.optimizer.iterations) == 2 * steps
    assert [e.epoch for e in result.history] == [0, 1] and not result.history[-1].partial


def test_stop_while_paused_stops_after_that_batch(digits, tmp_path: Path) -> None:
    pause, cancel = PauseToken(), CancelToken()
    observer = Pauser(pause)
    worker, box = start(tiny(**{"training.epochs": 50}), observer, cancel, pause, digits, tmp_path / "run")
    assert observer.paused.wait(WAIT_S)
    cancel.cancel()  # Stop, while still paused
    worker.join(WAIT_S)
    assert not worker.is_alive()
    result = box["result"]
    assert result.cancelled and not any(isinstance(e, Continued) for e in observer.events)
    steps = math.ceil(len(digits.x_train) / 16)
    assert int(result.model.optimizer.iterations) == steps + observer.at_step + 1
    assert result.history[-1].partial and (tmp_path / "run" / "model.keras").is_file()


def test_the_pause_token_alone() -> None:
    pause, cancel = PauseToken(), CancelToken()
    assert not pause.paused and pause.wait_while_paused(cancel)
    pause.pause()
    assert pause.paused
    cancel.cancel()
    assert pause.wait_while_paused(cancel) is False  # returns at once on a cancelled token
    pause.resume()
    assert not pause.paused
