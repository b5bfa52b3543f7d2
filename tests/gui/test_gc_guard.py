"""Cyclic garbage holding Qt objects is freed on the UI thread, never in a worker thread.

This is the cause of the rare segmentation faults seen in the GUI suite: the training thread's
allocations triggered a collection that destroyed widgets of a closed window.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt

from gui import gc_guard
from gui.app import create_application


class _Holder:
    """Half of a reference cycle that keeps a Qt object alive until the collector breaks it."""

    def __init__(self) -> None:
        self.me = self
        self.qobject = QObject()


def test_application_turns_automatic_collection_off(qtbot: Any) -> None:
    app = create_application([])
    assert not gc.isenabled()
    assert gc_guard.install(app) is gc_guard.install(app)  # one collector per application


def test_cycle_with_a_qobject_dies_on_the_ui_thread_after_a_busy_worker(qtbot: Any) -> None:
    create_application([])
    destroyed_in: list[str] = []
    holder = _Holder()
    holder.qobject.destroyed.connect(
        lambda *_: destroyed_in.append(threading.current_thread().name), Qt.ConnectionType.DirectConnection
    )
    del holder  # now only the cycle keeps it

    kept: list[Any] = []

    def allocate() -> None:  # like Keras in the training thread: far past every threshold
        kept.extend([i] for i in range(50_000))

    worker = threading.Thread(target=allocate, name="busy-worker")
    worker.start()
    worker.join()
    assert destroyed_in == [], "a worker thread ran the garbage collector"
    qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5_000)
    assert destroyed_in == [threading.main_thread().name]
    kept.clear()


def test_the_engines_collections_from_a_worker_happen_on_the_ui_thread(qtbot: Any) -> None:
    """The grid releases Keras's state between runs (engine.runtime.collection) in the training thread: the
    collection it asks for must still run on the UI thread (it once deadlocked the window)."""
    from engine.runtime.collection import collect_cycles, release_keras_state

    gc_guard.install(create_application([]))
    destroyed_in: list[str] = []
    holder = _Holder()
    holder.qobject.destroyed.connect(
        lambda *_: destroyed_in.append(threading.current_thread().name), Qt.ConnectionType.DirectConnection
    )
    del holder

    def release() -> None:  # what grid_runner does after each run
        release_keras_state()
        collect_cycles()

    worker = threading.Thread(target=release, name="training-like")
    worker.start()
    worker.join()
    assert destroyed_in == [], "the engine collected in a worker thread"
    qtbot.waitUntil(lambda: bool(destroyed_in), timeout=5_000)
    assert destroyed_in == [threading.main_thread().name]
