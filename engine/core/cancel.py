"""Cancellation: a token shared between the thread that asks and the thread that works, and the
one exception (`Cancelled`) that work raises when it stops because it was asked to.

`Cancelled` is LayerLab's own: not `InterruptedError`, which is the operating system's EINTR
error and an `OSError`, so an `except OSError` around file work would swallow a Stop.
"""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Work stopped because its `CancelToken` was set; what it made so far is not kept unless the
    work says otherwise. The message says what was stopped."""


class CancelToken:
    """Set from any thread; the trainer checks it at every batch and stops cleanly.

    A plain `threading.Event` under a name that says what it is for.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class PauseToken:
    """Pause and resume a training from any thread: while paused, the trainer holds after the
    current batch with everything in memory (model, optimizer, data pipeline).

    The hold still honours the run's `CancelToken`, so Stop works while paused. `wait_while_paused`
    returns at once on `resume()`; a cancel is seen within `POLL_S` (the two tokens are separate
    objects, so one of them has to be looked at periodically).
    """

    POLL_S = 0.05

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, cancel: CancelToken | None = None) -> bool:
        """Block while paused; True when it returns because of a resume (or was not paused),
        False when `cancel` was set meanwhile."""
        while not self._running.wait(self.POLL_S):
            if cancel is not None and cancel.cancelled:
                return False
        return not (cancel is not None and cancel.cancelled)
