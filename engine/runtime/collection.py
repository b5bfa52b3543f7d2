"""Who collects reference cycles, and on which thread.

Between the runs of a grid (and wherever the engine lets go of a model) the engine asks for the
cyclic garbage to be collected, because Keras models are full of reference cycles and a grid of
20 runs would otherwise hold 20 models. Headless (CLI, scripts, tests) that is a plain
`gc.collect()` in whatever thread asked.

A front end may need otherwise. In the window, cycles can hold Qt objects, which must be destroyed
on the thread that owns them: a collection in the training thread deadlocked the window (the
training thread, holding the interpreter, destroyed a Qt object while the UI thread waited for
the interpreter inside Qt). So the window installs its own collector, which asks its UI thread to
collect instead (gui/gc_guard.py). The engine never calls `gc.collect()` itself, nor
`keras.backend.clear_session()` with its built-in collection: it calls `release_keras_state()`
and `collect_cycles()`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

_collector: Callable[[], object] = gc.collect


def set_cycle_collector(collector: Callable[[], object] | None) -> None:
    """Use `collector` for the engine's collections from now on (None: back to `gc.collect`)."""
    global _collector
    _collector = collector or gc.collect


def collect_cycles() -> None:
    """Collect reference cycles the way the front end wants (default: `gc.collect()` right here)."""
    _collector()


def release_keras_state() -> None:
    """Keras's global state (names, the graph, kernel caches) let go, then cycles collected."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    keras.backend.clear_session(free_memory=False)
    collect_cycles()
