"""One helper binds config fields to widgets, both ways.

A panel makes a `Binder` over a store and declares, per widget, which dotted key it edits. The
binder writes the user's edits into the store and redraws the widget whenever its key changes
(with a `QSignalBlocker`, so a redraw is never mistaken for an edit). It also owns the two
reasons a widget is disabled: a rule on the stored value ("momentum: SGD only") and the panel's
lock while a training runs. Panels therefore keep no `_sync` methods and no copies of values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from gui.session import EventedStore, touches

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


@dataclass
class _Binding:
    widget: QWidget
    key: str
    show: Callable[[Any], None]  # stored value → widget
    keys: tuple[str, ...]


class Binder:
    """The bindings, enable rules and lock of one panel."""

    def __init__(self, store: EventedStore) -> None:
        self.store = store
        self._bindings: list[_Binding] = []
        self._rules: list[tuple[QWidget, Callable[[Any], bool]]] = []
        self._lockable: list[QWidget] = []
        self._watchers: list[tuple[str, Callable[[Any], None]]] = []
        self.locked = False
        store.changed.connect(self._on_changed)

    # --- declarations -----------------------------------------------------------------------------
    def field(
        self,
        widget: QWidget,
        key: str,
        *,
        to_widget: Convert = _same,
        from_widget: Convert = _same,
        write: Callable[[Any], None] | None = None,
        show: Callable[[Any], None] | None = None,
    ) -> QWidget:
        """Bind `widget` to `key`: check boxes, spin boxes, combo boxes (item data, else text), line edits.

        `to_widget`/`from_widget` convert between stored and shown values (e.g. a fraction shown
        as a percentage); `write` replaces the plain `store.update(key=value)` (e.g. a preset
        choice that also sets its defaults); `show` replaces the plain display (e.g. a combo box
        that adds an entry for a value it does not list).
        """
        read, plain_show, signal = _accessors(widget)
        commit = write or (lambda value: self.store.update(**{key: value}))
        signal.connect(lambda *_: commit(from_widget(read())))
        display = show or plain_show
        self._add(widget, key, lambda value: display(to_widget(value)))
        return widget

    def watch(self, key: str, react: Callable[[Any], None]) -> None:
        """Call `react(value of key)` now and whenever `key` changes: derived displays (descriptions,
        groups shown only for some choices). Nothing is written back."""
        self._watchers.append((key, react))
        react(self.store.get(key))

    def optional(
        self,
        check: QAbstractButton,
        value_widget: QWidget,
        key: str,
        *,
        off: Any = None,
        to_widget: Convert = _same,
        from_widget: Convert = _same,
    ) -> None:
        """A check box that turns a value on (the spin box's value) or off (`off`, e.g. None or 0).

        Unticked, the spin box keeps its last value, ready for the next tick, and is disabled.
        """
        read, show, signal = _accessors(value_widget)

        def commit(*_: Any) -> None:
            self.store.update(**{key: from_widget(read()) if check.isChecked() else off})

        check.toggled.connect(commit)
        signal.connect(lambda *_: check.isChecked() and commit())

        def show_both(value: Any) -> None:
            on = value != off and value is not None
            check.setChecked(on)
            if on:
                with QSignalBlocker(value_widget):
                    show(to_widget(value))

        self._add(check, key, show_both)
        self._lockable.append(value_widget)
        self.enable_when(value_widget, lambda _config: check.isChecked())

    def enable_when(self, widget: QWidget, rule: Callable[[Any], bool]) -> None:
        """Enable `widget` only while `rule(stored value)` holds (and the panel is not locked)."""
        self._rules.append((widget, rule))
        self._apply_enabled()

    def lockable(self, *widgets: QWidget) -> None:
        """Widgets that are disabled while the panel is locked (bound widgets are already)."""
        self._lockable.extend(widgets)
        self._apply_enabled()

    # --- state --------------------------------------------------------------------------------------
    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        self._apply_enabled()

    def refresh(self) -> None:
        """Show every stored value (after building the panel)."""
        self._on_changed({"*"})

    # --- internals ----------------------------------------------------------------------------------
    def _add(self, widget: QWidget, key: str, show: Callable[[Any], None]) -> None:
        self._bindings.append(_Binding(widget, key, show, (key,)))
        self._lockable.append(widget)
        with QSignalBlocker(widget):
            show(self.store.get(key))

    def _on_changed(self, keys: set[str]) -> None:
        for binding in self._bindings:
            if touches(keys, *binding.keys):
                with QSignalBlocker(binding.widget):
                    binding.show(self.store.get(binding.key))
        for key, react in self._watchers:
            if touches(keys, key):
                react(self.store.get(key))
        self._apply_enabled()

    def _apply_enabled(self) -> None:
        value = self.store.value
        blocked = {id(w) for w, rule in self._rules if not rule(value)}
        locked = {id(w) for w in self._lockable} if self.locked else set()
        for widget in {id(w): w for w in (*self._lockable, *(w for w, _ in self._rules))}.values():
            widget.setEnabled(id(widget) not in blocked and id(widget) not in locked)


def _accessors(widget: QWidget) -> tuple[Callable[[], Any], Callable[[Any], None], Any]:
    """(read, show, edited signal) for the widget kinds panels use."""
    if isinstance(widget, QAbstractButton):
        return widget.isChecked, widget.setChecked, widget.toggled
    if isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        # Typing edits once (Enter or leaving the box); arrows and the wheel edit at once.
        widget.setKeyboardTracking(False)
        return widget.value, widget.setValue, widget.valueChanged
    if isinstance(widget, QAbstractSlider):
        return widget.value, widget.setValue, widget.valueChanged
    if isinstance(widget, QComboBox):

        def read() -> Any:
            data = widget.currentData()
            return widget.currentText() if data is None else data

        def show(value: Any) -> None:
            index = widget.findData(value)
            widget.setCurrentIndex(index if index >= 0 else max(0, widget.findText(str(value))))

        return read, show, widget.activated
    if isinstance(widget, QLineEdit):
        return widget.text, lambda value: widget.setText("" if value is None else str(value)), widget.editingFinished
    if isinstance(widget, QAbstractSpinBox):  # pragma: no cover - other spin boxes are not used
        raise TypeError(f"unsupported spin box {type(widget).__name__}")
    raise TypeError(f"cannot bind a {type(widget).__name__}")
