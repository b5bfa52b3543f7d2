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
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pyqtgraph.util.garbage_collector import GarbageCollector

#: How often the UI thread looks at the allocation counts (a generation-0 collection takes well
#: under a millisecond; the interval only bounds how long cyclic garbage waits).
CHECK_INTERVAL_S = 0.25

_collector: GarbageCollector | None = None


def install(app: QApplication) -> GarbageCollector:
    """Start UI-thread-only collection once per process (later calls return the same collector)."""
    global _collector
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("the garbage-collection guard must be installed from the UI thread")
    if _collector is None:
        _collector = GarbageCollector(interval=CHECK_INTERVAL_S)
        app.aboutToQuit.connect(_stop)
    return _collector


def _stop() -> None:
    """Give collection back to Python: the application is going away."""
    global _collector
    if _collector is not None:
        _collector.timer.stop()
        _collector = None
    gc.enable()
