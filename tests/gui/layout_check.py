"""What a person sees clipped or cramped in a window, found by looking at its widgets.

`problems(window)` lists every visible label, button, group title or tab bar whose text does not
fit the room it has, every tab bar that scrolls, every table whose columns run past its edge, and
every such widget cut off by a parent that is not a scroll area (a column squeezed below its
content). A label made to elide (`ElidedLabel`: the message bar, the curves' title) is not clipped
but must carry its whole text in its tooltip when it elides.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QComboBox,
    QGroupBox,
    QLabel,
    QTabBar,
    QTableView,
    QToolButton,
    QWidget,
)

from gui.widgets import ElidedLabel

SLACK = 1  # pixels of rounding


def problems(window: QWidget) -> list[str]:
    found: list[str] = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.width() <= 0:
            continue
        if isinstance(widget, QTabBar):
            found += _tab_bar(widget)
        elif isinstance(widget, ElidedLabel):
            found += _elided(widget)
        elif isinstance(widget, QLabel):
            found += _label(widget)
        elif isinstance(widget, QAbstractButton) and not _inside_tab_bar(widget):
            found += _button(widget)
        elif isinstance(widget, QGroupBox) and widget.title():
            found += _group(widget)
        elif isinstance(widget, QTableView) and widget.model() is not None and widget.model().columnCount():
            found += _table(widget)
        else:
            continue
        found += _cut_off(widget)
    return found


def _name(widget: QWidget) -> str:
    text = ""
    for attribute in ("text", "title"):
        value = getattr(widget, attribute, None)
        if callable(value):
            text = str(value())
            break
    path = []
    node: Any = widget
    while node is not None and len(path) < 4:
        path.append(node.objectName() or type(node).__name__)
        node = node.parentWidget()
    return f"{type(widget).__name__} {text[:60]!r} in {' < '.join(path)}"


def _label(label: QLabel) -> list[str]:
    if not label.text() or (label.pixmap() is not None and not label.pixmap().isNull()):
        return []
    room = label.contentsRect()
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height() + SLACK:
            return [f"{_name(label)}: needs {needed} px of height, has {label.height()}"]
        return []
    hint = label.sizeHint()
    if hint.width() > label.width() + SLACK:
        return [f"{_name(label)}: needs {hint.width()} px, has {label.width()} (room {room.width()})"]
    return []


def _elided(label: ElidedLabel) -> list[str]:
    if label.elided and label.full_text() not in label.toolTip():
        return [f"{_name(label)}: elided without its whole text in the tooltip"]
    return []


def _button(button: QAbstractButton) -> list[str]:
    if not button.text() or (isinstance(button, QToolButton) and isinstance(button.parentWidget(), QComboBox)):
        return []
    hint = button.sizeHint()
    if hint.width() > button.width() + SLACK:
        return [f"{_name(button)}: needs {hint.width()} px, has {button.width()}"]
    return []


def _group(box: QGroupBox) -> list[str]:
    needed = box.fontMetrics().horizontalAdvance(box.title()) + 24
    return [f"{_name(box)}: its title needs {needed} px, has {box.width()}"] if needed > box.width() else []


def _tab_bar(bar: QTabBar) -> list[str]:
    found = []
    arrows = [b for b in bar.findChildren(QToolButton) if b.isVisible()]
    if arrows:
        found.append(f"{_name(bar)}: scrolls (its arrows show)")
    for i in range(bar.count()):
        if not bar.isTabVisible(i):
            continue
        needed = bar.fontMetrics().horizontalAdvance(bar.tabText(i))
        rect = bar.tabRect(i)
        if needed > rect.width() or not bar.rect().contains(rect.adjusted(SLACK, 0, -SLACK, 0)):
            found.append(f"{_name(bar)}: tab {bar.tabText(i)!r} does not fit ({needed} px in {rect.width()})")
    return found


def _table(table: QTableView) -> list[str]:
    header = table.horizontalHeader()
    if header.isHidden():
        return []
    width = sum(header.sectionSize(i) for i in range(header.count()) if not header.isSectionHidden(i))
    room = table.viewport().width()
    if width > room + SLACK:
        return [f"{_name(table)}: its columns need {width} px, the table shows {room}"]
    return []


def _inside_tab_bar(widget: QWidget) -> bool:
    return isinstance(widget.parentWidget(), QTabBar)


def _cut_off(widget: QWidget) -> list[str]:
    """The widget lies whole inside each parent up to the window or a scroll area's viewport."""
    rect = QRect(QPoint(0, 0), widget.size())
    node = widget
    while node.parentWidget() is not None:
        parent = node.parentWidget()
        rect = rect.translated(node.pos())
        if isinstance(parent.parentWidget(), QAbstractScrollArea) and parent is parent.parentWidget().viewport():
            area = parent.parentWidget()
            bar = area.horizontalScrollBar()
            if bar.isVisible() and not isinstance(area, QTableView) and area.objectName() not in SIDEWAYS_OK:
                return [f"{_name(widget)}: in a scroll area that scrolls sideways"]
            return []
        if not parent.rect().adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(rect):
            return [f"{_name(widget)}: cut off by {_name(parent)} ({rect.getRect()} in {parent.rect().getRect()})"]
        node = parent
    return []


#: Scroll areas that may scroll sideways on purpose (a gallery of images, a layer table).
SIDEWAYS_OK: frozenset[str] = frozenset()
