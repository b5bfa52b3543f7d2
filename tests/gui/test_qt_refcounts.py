"""The Qt binding must not lose references to Python's singletons when signals are emitted.

PySide6 6.12.0 dropped one reference to `True` per signal emitted from Python to a Python slot:
after some tens of thousands of emissions (a long training, every batch an event) CPython aborted
with "bool_dealloc: deallocating True or False". pyproject.toml keeps that release out; this test
fails for any binding release with the same fault, whatever the version number says.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    value = Signal(object)
    number = Signal(int)


def _singleton_counts() -> tuple[int, int, int]:
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def test_emitting_signals_keeps_the_singletons_references(qtbot: Any) -> None:
    emitter = _Emitter()
    received: list[Any] = []
    emitter.value.connect(received.append)
    emitter.number.connect(received.append)
    before = _singleton_counts()
    for i in range(200):
        emitter.value.emit(None)
        emitter.number.emit(i)
    after = _singleton_counts()
    assert len(received) == 400
    lost = [name for name, b, a in zip(("None", "True", "False"), before, after) if a < b - 20]
    assert not lost, f"the Qt binding lost references to {lost}: {before} → {after}"
