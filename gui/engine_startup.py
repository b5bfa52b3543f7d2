"""Load TensorFlow and the engine once per process, from whichever worker asks first.

Importing TensorFlow takes seconds; the window must be usable well before that, so start-up is
an ordinary background task (see `gui.controllers.engine`). Every task that needs TensorFlow
calls `load_engine()` first: the first caller imports, the others wait on the same lock, which
also keeps two threads from importing TensorFlow at once (a half-initialised module otherwise).
Qt-free: the state is plain data a controller copies into the session.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


class EngineUnavailable(RuntimeError):
    """TensorFlow or the engine could not be imported (a broken installation)."""


@dataclass(frozen=True)
class EngineInfo:
    device: str  # "CPU" or the GPU's name
    seconds: float  # how long loading took


_lock = threading.Lock()
_info: EngineInfo | None = None
_error: str | None = None


def load_engine() -> EngineInfo:
    """Import TensorFlow and the engine modules (once); the training device. Thread-safe."""
    global _info, _error
    with _lock:
        if _info is not None:
            return _info
        if _error is not None:
            raise EngineUnavailable(_error)
        t0 = time.perf_counter()
        try:
            device = _import_engine()
        except Exception as err:  # a broken installation: say so, keep the window alive
            _error = f"the training engine could not start: {type(err).__name__}: {err}"
            log.exception("engine start-up failed")
            raise EngineUnavailable(_error) from None
        _info = EngineInfo(device, time.perf_counter() - t0)
        log.info("engine loaded in %.1f s, device %s", _info.seconds, device)
        return _info


def _import_engine() -> str:
    from engine import warm_up
    from gui.logs import stderr_into_log

    with stderr_into_log():  # TensorFlow's start-up lines go to the log, not the terminal
        device = warm_up()  # TensorFlow and the modules a first training needs: the slow part
    # TensorFlow and Keras leave ~10⁶ long-lived Python objects; moving them out of the
    # collector's reach keeps full collections (which pause every thread, the UI's too) from
    # taking 100+ ms in the middle of a training.
    gc.freeze()
    return device
