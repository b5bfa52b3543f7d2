"""A cancellation handle shared between the thread that asks and the thread that trains."""
from __future__ import annotations

import threading


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
