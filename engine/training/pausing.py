"""Pause inside `fit`: a Keras callback that holds the training thread after a batch while the
run's `PauseToken` is paused.

Holding inside the callback keeps everything where it is (model, optimizer, the data iterator,
the epoch's running metrics), so Resume simply returns from the callback and the next batch is
the one that would have come. Stop still works while paused: the hold ends when the cancel token
is set, and Keras stops after that batch like any other Stop.
"""

from __future__ import annotations

import time
from typing import Any

import keras

from engine.core.cancel import CancelToken, PauseToken
from engine.core.events import Continued, Observer, Paused


class PauseCallback(keras.callbacks.Callback):
    def __init__(self, pause: PauseToken, cancel: CancelToken, observer: Observer) -> None:
        super().__init__()
        self.pause = pause
        self.cancel = cancel
        self.observer = observer
        self.paused_seconds = 0.0  # total time held, for whoever wants training time only
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not self.pause.paused or self.cancel.cancelled:
            return
        self.observer(Paused(self._epoch, batch))
        t0 = time.perf_counter()
        resumed = self.pause.wait_while_paused(self.cancel)
        held = time.perf_counter() - t0
        self.paused_seconds += held
        if resumed:
            self.observer(Continued(held))
        else:
            self.model.stop_training = True


def pause_callbacks(pause: PauseToken | None, cancel: CancelToken, observer: Observer) -> list[Any]:
    """The callback to add to `fit` (none without a pause token)."""
    return [PauseCallback(pause, cancel, observer)] if pause is not None else []
