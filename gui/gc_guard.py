"""Python's cyclic garbage collector runs on the UI thread only.

Why: CPython starts a collection in whichever thread happens to allocate past the threshold. In
LayerLab that is usually the training thread (Keras allocates constantly) or a worker loading data.
When such a collection frees a reference cycle that holds a Qt wrapper (a dropped thumbnail, a
closed dialog, a replaced plot item, a closed window), the C++ object is destroyed in that thread
while the UI thread may be painting it: a segmentation fault, seen as "Garbage-collecting" in the
training thread's stack. Qt objects must die on the thread that owns them.

So automatic collection is switched off once the application exists, and a timer on the UI thread
collects each generation when its count passes Python's own threshold: pyqtgraph's
`GarbageCollector`, made for exactly this. Reference counting still frees almost everything at
once; only cycles wait for the next tick. TensorFlow's million long-lived objects are frozen out
of the collector's reach by the engine loader (`gc.freeze()`), which keeps full collections short.

Explicit collections are the other way in: the engine collects between a grid's runs, and
`keras.backend.clear_session()` would call `gc.collect()` in the training thread. That deadlocked
the window (the training thread, holding the interpreter, destroyed a Qt object while the UI
thread waited for the interpreter inside Qt). So the engine's collector (engine/runtime/collection.py) is
replaced here: asked from the UI thread it collects at once; from any other thread it only asks
the UI thread to make a full collection at its next tick.
"""

from __future__ import annotations

import gc
import threading

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from engine import set_cycle_collector

#: How often the UI thread looks at the allocation counts (a generation-0 collection takes well
#: under a millisecond; the interval only bounds how long cyclic garbage waits).
CHECK_INTERVAL_S = 0.25

_collector: GarbageCollector | None = None
_full_requested = threading.Event()  # set by other threads: collect everything at the next tick
_ui_thread: threading.Thread | None = None


def install(app: QApplication) -> GarbageCollector:
    """Start UI-thread-only collection once per process (later calls return the same collector)."""
    global _collector, _ui_thread
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("the garbage-collection guard must be installed from the UI thread")
    if _collector is None:
        _collector = GarbageCollector(interval=CHECK_INTERVAL_S)
        _collector.timer.timeout.connect(_collect_if_requested)
        _ui_thread = threading.current_thread()
        set_cycle_collector(request_collection)
        app.aboutToQuit.connect(_stop)
    return _collector


def request_collection() -> None:
    """The engine's collector while the window runs: collect here on the UI thread, else ask it to."""
    if threading.current_thread() is _ui_thread:
        gc.collect()
    else:
        _full_requested.set()


def _collect_if_requested() -> None:
    if _full_requested.is_set():
        _full_requested.clear()
        gc.collect()


def _stop() -> None:
    """Give collection back to Python: the application is going away."""
    global _collector
    if _collector is not None:
        _collector.timer.stop()
        _collector = None
    set_cycle_collector(None)
    gc.enable()
