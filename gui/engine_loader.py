"""Start TensorFlow in the background so the window appears at once.

Importing TensorFlow and Keras takes seconds; the window must be usable well before that. The
first window calls `engine_loader().start()`; a plain thread imports the heavy engine modules
and asks which device will train, then `ready(device)` fires on the UI thread. TensorFlow loads
once per process, so the loader is a process-wide singleton: a second window (or test) finds it
ready at once. Worker threads that need TensorFlow call `wait_ready()` first, which also keeps two
threads from importing TensorFlow at the same time (a partially initialised module otherwise).
"""
from __future__ import annotations

import gc
import threading
import time

from PySide6.QtCore import QObject, Signal


class EngineLoader(QObject):
    ready = Signal(str)      # device: "CPU" or the GPU's name
    failed = Signal(str)     # one readable line

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.device: str | None = None
        self.error: str | None = None
        self.seconds: float | None = None

    @property
    def is_ready(self) -> bool:
        return self._done.is_set() and self.error is None

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def start(self) -> None:
        """Begin loading (once); later calls do nothing."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="layerlab-engine-loader", daemon=True)
            self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block a worker thread until the engine is loaded; False when it failed or timed out."""
        self.start()
        return self._done.wait(timeout) and self.error is None

    def _load(self) -> None:
        t0 = time.perf_counter()
        try:
            import tensorflow  # noqa: F401  the slow part

            import engine.architectures.scratch  # noqa: F401  builders of the presets
            import engine.inference  # noqa: F401
            import engine.layers  # noqa: F401
            import engine.training
            from engine.architectures import custom_objects

            custom_objects()
            device = engine.training.device_name()
            # TensorFlow and Keras leave ~10⁶ long-lived Python objects; moving them out of the
            # collector's reach keeps full collections (which pause every thread, the UI's too)
            # from taking 100+ ms in the middle of a training.
            gc.freeze()
        except Exception as err:  # a broken installation: say so, keep the window alive
            self.error = f"the training engine could not start: {type(err).__name__}: {err}"
            self._done.set()
            self.failed.emit(self.error)
            return
        self.device = device
        self.seconds = time.perf_counter() - t0
        self._done.set()
        self.ready.emit(device)


_LOADER: EngineLoader | None = None


def engine_loader() -> EngineLoader:
    """The process-wide loader (created on the UI thread by the first caller)."""
    global _LOADER
    if _LOADER is None:
        _LOADER = EngineLoader()
    return _LOADER
