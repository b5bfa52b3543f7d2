"""Python's cyclic garbage collector runs on the UI thread only.

Why: CPython starts a collection in whichever thread happens to allocate past the threshold. In
LayerLab that is usually the training thread (Keras allocates constantly) or a worker loading data.
When such a collection frees a reference cycle that holds a Qt wrapper (a dropped thumbnail, a
closed dialog, a replaced plot item, a closed window), the C++ object is destroyed in that thread
while the UI thread may be painting it: a segmentation fault, seen as "Garbage-collecting" in the
training thread's stack. Qt objects must die on the thread that owns them.

So automatic collection is switched off once the application exists, and a timer on the UI thread
collects each generation when its count passes the threshold Python itself would use (the idea of
pyqtgraph's `GarbageCollector`). Reference counting still frees almost everything at once; only
cycles wait for the next tick. TensorFlow's million long-lived objects are frozen out of the
collector's reach by the engine loader (`gc.freeze()`), which keeps the rare full collection short.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QThread, QTimer
from PySide6.QtWidgets import QApplication

#: How often the UI thread looks at the allocation counts (a collection of generation 0 takes
#: well under a millisecond; the interval only bounds how long cyclic garbage waits).
CHECK_INTERVAL_MS = 250


class UiThreadCollector(QObject):
    """Disables automatic collection and collects from a UI-thread timer instead."""

    def __init__(self, parent: QObject, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self.collections = [0, 0, 0]  # per generation, for tests and the curious
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        gc.disable()
        self._timer.start()

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, youngest first."""
        count0, count1, count2 = gc.get_count()
        t0, t1, t2 = self._thresholds
        if count0 <= t0:
            return
        generation = 0
        if count1 >= t1:
            generation = 2 if count2 >= t2 else 1
        gc.collect(generation)
        self.collections[generation] += 1

    def stop(self) -> None:
        """Give collection back to Python (the application is going away)."""
        self._timer.stop()
        gc.enable()


def install(app: QApplication) -> UiThreadCollector:
    """Install the collector once per application (later calls return the same one)."""
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("the garbage-collection guard must be installed from the UI thread")
    existing = app.findChild(UiThreadCollector, "layerlab-gc-guard")
    if existing is not None:
        return existing
    collector = UiThreadCollector(app)
    collector.setObjectName("layerlab-gc-guard")
    app.aboutToQuit.connect(collector.stop)
    return collector
