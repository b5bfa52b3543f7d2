"""The centre of the window: one view at a time, at full height, and the one-line message bar.

The curves are always there; a comparison, a grid, a lesson and an autoencoder's reconstructions
each get a tab when they exist (the centre controller says when), and one click switches. Only
the chosen view is shown, so the plots keep the whole height instead of sharing it with four
other panels. The tab bar never scrolls: its titles are short and the centre column is never
narrower than they are.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QStackedWidget, QTabBar, QVBoxLayout, QWidget

from gui.widgets import MessageBar


class CentreViews(QWidget):
    """A tab bar over a stack of views, with the message bar between them."""

    view_changed = Signal(str)  # the name of the view now shown

    def __init__(self, message_bar: MessageBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Centre")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(4)
        self.bar = QTabBar()
        self.bar.setObjectName("ViewTabs")
        self.bar.setUsesScrollButtons(False)
        self.bar.setExpanding(False)
        self.bar.setDrawBase(False)
        self.bar.currentChanged.connect(self._on_tab)
        layout.addWidget(self.bar)
        self.message_bar = message_bar
        layout.addWidget(message_bar)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.names: list[str] = []

    def add_view(self, name: str, title: str, widget: QWidget, tooltip: str = "", available: bool = True) -> None:
        """A view and its tab (hidden until `set_available(name, True)` unless `available`)."""
        self.names.append(name)
        self.stack.addWidget(widget)
        index = self.bar.addTab(title)
        self.bar.setTabToolTip(index, tooltip)
        self.bar.setTabVisible(index, available)

    # --- the centre controller's view -----------------------------------------------------------------
    def set_available(self, name: str, available: bool) -> None:
        """Offer the view `name` (its tab shows) or not; the curves come back when the shown one goes."""
        index = self.names.index(name)
        if self.bar.isTabVisible(index) == available:
            return
        if not available and self.bar.currentIndex() == index:
            self.open(self.names[0])
        self.bar.setTabVisible(index, available)

    def open(self, name: str) -> None:
        """Show the view `name` (offering it first)."""
        index = self.names.index(name)
        self.bar.setTabVisible(index, True)
        self.bar.setCurrentIndex(index)

    # --- state ------------------------------------------------------------------------------------------
    def current(self) -> str:
        return self.names[self.stack.currentIndex()] if self.names else ""

    def available(self) -> list[str]:
        return [name for i, name in enumerate(self.names) if self.bar.isTabVisible(i)]

    def _on_tab(self, index: int) -> None:
        if 0 <= index < len(self.names):
            self.stack.setCurrentIndex(index)
            self.view_changed.emit(self.names[index])
