"""Small reusable widgets: the inline message bar, probability bars, headings, image tiles."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.imaging import array_to_pixmap
from gui.text import format_memory

if TYPE_CHECKING:  # pragma: no cover - typing only
    from gui.session import EngineState, Message

LEVEL_COLORS = {"info": theme.ACCENT, "success": theme.GOOD, "warning": theme.WARN, "error": theme.BAD}


def plain_text(text: str) -> str:
    """Rich text as a person reads it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", text)) if "<" in text or "&" in text else text


class ElidedLabel(QLabel):
    """One line of text that never widens its column: elided with "…" to the width it gets, the
    whole text in the tooltip (with `details`, when given). Rich text is shown as plain text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._full = ""
        self._details = ""
        self.set_text(text)

    def set_text(self, text: str, details: str = "") -> None:
        self._full, self._details = plain_text(text), details
        self._elide()

    def full_text(self) -> str:
        return self._full

    @property
    def elided(self) -> bool:
        return self.text() != self._full

    def sizeHint(self) -> QSize:
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right() + 2
        return QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = self.contentsRect().width()
        shown = (
            self._full if width <= 0 else self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        )
        super().setText(shown)
        tip = [self._full] if shown != self._full else []
        self.setToolTip("\n".join([*tip, *([self._details] if self._details else [])]))


class MessageBar(QFrame):
    """An inline banner for problems and news: one line, dismissible, never a blocking dialog.

    A long message is elided; Details (shown when there is more to read) unfolds the whole text
    and its `details` (e.g. skipped files, a run folder) under it, on demand, so the banner never
    pushes the curves down by more than its one line unless asked to.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageBar")
        self.level = "info"
        self.details = ""
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 3, 4, 3)
        column.setSpacing(2)
        layout = QHBoxLayout()
        layout.setSpacing(6)
        self.icon = QLabel()
        self.icon.setObjectName("MessageIcon")
        self.label = ElidedLabel()
        self.label.setObjectName("MessageText")
        self.more = QPushButton("Details")
        self.more.setObjectName("FlatButton")
        self.more.setCheckable(True)
        self.more.setToolTip("Show the whole message and its details")
        self.more.toggled.connect(self._unfold)
        close = QPushButton("✕")
        close.setObjectName("FlatButton")
        close.setFixedHeight(24)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.more)
        layout.addWidget(close)
        column.addLayout(layout)
        self.full = QLabel()
        self.full.setObjectName("MessageDetails")
        self.full.setWordWrap(True)
        self.full.setTextFormat(Qt.TextFormat.PlainText)
        self.full.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.full.hide()
        column.addWidget(self.full)
        self.hide()

    @property
    def text(self) -> str:
        """The whole message ("" while none shows)."""
        return "" if self.isHidden() else self.label.full_text()

    def show_message(self, text: str, level: str = "info", details: str = "") -> None:
        self.level, self.details = level, details
        color = LEVEL_COLORS.get(level, theme.ACCENT)
        self.icon.setText({"error": "⚠", "warning": "⚠", "success": "✓"}.get(level, "ℹ"))
        self.icon.setStyleSheet(f"color: {color}; font-size: 15px;")
        self.setStyleSheet(f"#MessageBar {{ border-left: 3px solid {color}; }}")
        self.label.set_text(text, details)
        self.more.setChecked(False)
        self.show()
        self._update_more()

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._update_more()

    def _update_more(self) -> None:
        self.more.setVisible(bool(self.details) or self.label.elided or self.more.isChecked())

    def _unfold(self, unfolded: bool) -> None:
        self.full.setText("\n".join(part for part in (self.label.full_text(), self.details) if part))
        self.full.setVisible(unfolded)
        self.more.setText("Less" if unfolded else "Details")

    def dismiss(self) -> None:
        self.label.set_text("")
        self.more.setChecked(False)
        self.hide()
        self.dismissed.emit()

    def render(self, message: Message) -> None:
        """Show the session's banner message (hidden when it has no text)."""
        if message.text:
            self.show_message(message.text, message.level, message.details)
        else:
            self.label.set_text("")
            self.more.setChecked(False)
            self.hide()


class EngineStatus(QWidget):
    """The status bar's right end: the device (and GPU memory) and whether the engine is ready."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.device = QLabel("")
        self.device.setObjectName("StatusDevice")
        self.engine = QLabel("◌ Loading engine…")
        self.engine.setObjectName("EngineState")
        self.engine.setToolTip("TensorFlow starts in the background; everything else works meanwhile")
        layout.addWidget(self.device)
        layout.addWidget(self.engine)

    def show_engine(self, state: EngineState) -> None:
        if state.status == "ready":
            self.engine.setText("● Engine ready")
            took = f" in {state.seconds:.1f} s" if state.seconds else ""
            self.engine.setToolTip(f"TensorFlow loaded{took}")
            set_state(self.engine, "ready")
        elif state.status == "failed":
            self.engine.setText("● Engine unavailable")
            self.engine.setToolTip(state.error)
            set_state(self.engine, "error")
        memory = f" · GPU memory {format_memory(state.gpu_memory_mb)}" if state.gpu_memory_mb is not None else ""
        self.device.setText(f"Device: {state.device}{memory}" if state.device else "")


class ProbabilityBars(QWidget):
    """Top-k labels with horizontal bars: the winner in the accent colour, the rest dimmed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.top: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_top(self, top: list[tuple[str, float]]) -> None:
        self.top = list(top)
        self.setFixedHeight(max(1, len(self.top)) * 22)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, max(1, len(self.top)) * 22)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = self.width()
        label_w = min(110, width // 3)
        value_w = 52
        bar_w = max(10, width - label_w - value_w - 8)
        metrics = painter.fontMetrics()
        for i, (label, p) in enumerate(self.top):
            y = i * 22
            color = QColor(theme.ACCENT if i == 0 else theme.TEXT_DIM)
            painter.setPen(QColor(theme.TEXT if i == 0 else theme.TEXT_DIM))
            text = metrics.elidedText(str(label), Qt.TextElideMode.ElideRight, label_w - 6)
            painter.drawText(
                QRectF(0, y, label_w - 6, 20), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, text
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.SURFACE_ALT))
            painter.drawRoundedRect(QRectF(label_w, y + 4, bar_w, 12), 4, 4)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(label_w, y + 4, max(2.0, bar_w * float(p)), 12), 4, 4)
            painter.setPen(QColor(theme.TEXT if i == 0 else theme.TEXT_DIM))
            painter.drawText(QRectF(label_w + bar_w + 6, y, value_w, 20), Qt.AlignmentFlag.AlignVCenter, f"{p:.1%}")
        painter.end()


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("Heading")
    return label


def hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("Hint")
    label.setWordWrap(True)
    return label


def image_tile(array: np.ndarray, side: int, caption: str = "", tooltip: str = "") -> QWidget:
    """An image scaled into a square box with an optional caption underneath."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    picture = QLabel()
    picture.setObjectName("ImageTile")
    picture.setFixedSize(side + 4, side + 4)
    picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
    picture.setPixmap(array_to_pixmap(array, side))
    layout.addWidget(picture)
    if caption:
        text = QLabel(caption)
        text.setObjectName("Caption")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setWordWrap(True)
        text.setMaximumWidth(side + 4)
        layout.addWidget(text)
    if tooltip:
        box.setToolTip(tooltip)
    return box


def mono_font(size: int = 0) -> QFont:
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    if size:
        font.setPointSize(size)
    return font


class Form(QGridLayout):
    """Labelled rows, like QFormLayout, but as narrow as its rows' minimum widths allow (Qt's form
    layout asks for its fields' preferred widths, which made the settings column wider than a
    laptop's screen can spare). A row is (label text or widget, field), or one widget across."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setContentsMargins(0, 0, 0, 0)
        self.setHorizontalSpacing(8)
        self.setVerticalSpacing(6)
        self.setColumnStretch(1, 1)

    def addRow(self, label: Any, field: Any = None) -> None:
        row = self.rowCount()
        if field is None:
            self._add(label, row, 0, 1, 2)
            return
        if isinstance(label, str):
            label = QLabel(label)
            label.setObjectName("FormLabel")
        self._add(label, row, 0, 1, 1)
        self._add(field, row, 1, 1, 1)

    def _add(self, item: Any, row: int, column: int, rows: int, columns: int) -> None:
        if isinstance(item, QWidget):
            self.addWidget(item, row, column, rows, columns)
        else:
            self.addLayout(item, row, column, rows, columns)


def keep_place_when_hidden(widget: QWidget) -> None:
    """A hidden `widget` keeps its place in the layout: nothing beside it moves when it shows."""
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)


def set_state(widget: QWidget, state: str) -> None:
    """Set the style sheet's `state` property (busy, error, on...) and restyle the widget."""
    widget.setProperty("state", state)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def panel_layout(panel: QWidget, title: str | None = None) -> QVBoxLayout:
    """The column every panel is laid out in (same margins everywhere), headed by `title`."""
    layout = QVBoxLayout(panel)
    layout.setContentsMargins(12, 12, 12, 12)
    layout.setSpacing(8)
    if title:
        layout.addWidget(heading(title))
    return layout


def scrolling(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area that resizes it (a panel taller than the window)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


def tab_widget(name: str, min_width: int, *pages: tuple[QWidget, str]) -> QTabWidget:
    tabs = QTabWidget()
    tabs.setObjectName(name)
    for page, title in pages:
        tabs.addTab(page, title)
    tabs.setMinimumWidth(min_width)
    return tabs


def add_actions(menu: QMenu, parent: QWidget, entries: tuple[tuple[str, Any, Any] | None, ...]) -> None:
    """Menu entries (text, shortcut or None, slot); None is a separator."""
    for entry in entries:
        if entry is None:
            menu.addSeparator()
            continue
        text, shortcut, slot = entry
        action = QAction(text, parent)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
