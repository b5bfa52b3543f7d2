"""A gallery of many images that costs rows of data, not widgets, and decodes only what is shown.

`ThumbnailListModel` holds plain entries (misclassified samples, suspicious labels...); a row's
picture is asked for (`thumbnails_wanted`, one request per paint) the first time the view paints
it, and arrives later with `set_thumbnail(key, image)`. `gallery_view` is the `QListView` in icon
mode every gallery uses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QFrame, QListView

from gui import theme
from gui.imaging import array_to_pixmap

TILE = 72
CELL = QSize(TILE + 22, TILE + 44)


def _placeholder(text: str) -> QPixmap:
    pixmap = QPixmap(TILE, TILE)
    pixmap.fill(QColor(theme.SURFACE_ALT))
    painter = QPainter(pixmap)
    painter.setPen(QColor(theme.TEXT_DIM))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


class ThumbnailListModel(QAbstractListModel):
    """Entries with lazily decoded pictures; `key(entry)` names an entry's picture."""

    thumbnails_wanted = Signal(list)  # entries whose rows were painted without a picture

    def __init__(
        self,
        key: Callable[[Any], Hashable],
        caption: Callable[[Any], str],
        tooltip: Callable[[Any, bool], str],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.key, self.caption, self.tooltip = key, caption, tooltip
        self.entries: list[Any] = []
        self._rows: dict[Hashable, int] = {}
        self._pictures: dict[Hashable, QPixmap | None] = {}  # None: unavailable
        self._asked: set[Hashable] = set()
        self._wanted: list[Any] = []
        self._loading = _placeholder("…")
        self._missing = _placeholder("?")
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(0)
        self._flush.timeout.connect(self._ask)

    def set_entries(self, entries: list[Any], forget_pictures: bool) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self._rows = {self.key(entry): row for row, entry in enumerate(self.entries)}
        if forget_pictures:
            self._pictures.clear()
            self._asked.clear()
        self._wanted.clear()
        self.endResetModel()

    def set_thumbnail(self, key: Hashable, image: np.ndarray | None) -> None:
        self._pictures[key] = None if image is None else array_to_pixmap(image, TILE, smooth=image.shape[0] > TILE)
        self.refresh(key)

    def refresh(self, key: Hashable) -> None:
        """Redraw one entry (its caption or picture changed)."""
        row = self._rows.get(key)
        if row is not None:
            cell = self.index(row)
            self.dataChanged.emit(cell, cell)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.entries):
            return None
        entry = self.entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.caption(entry)
        if role == Qt.ItemDataRole.DecorationRole:
            return self._picture(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            key = self.key(entry)
            return self.tooltip(entry, key in self._pictures and self._pictures[key] is None)
        return None

    def _picture(self, entry: Any) -> QPixmap:
        key = self.key(entry)
        if key in self._pictures:
            return self._pictures[key] or self._missing
        if key not in self._asked:
            self._asked.add(key)
            self._wanted.append(entry)
            self._flush.start()
        return self._loading

    def _ask(self) -> None:
        wanted, self._wanted = self._wanted, []
        if wanted:
            self.thumbnails_wanted.emit(wanted)

    def has_picture(self, key: Hashable) -> bool:
        return self._pictures.get(key) is not None


def gallery_view(model: ThumbnailListModel, name: str, selectable: bool = False) -> QListView:
    view = QListView()
    view.setObjectName(name)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setModel(model)
    view.setIconSize(QSize(TILE, TILE))
    view.setGridSize(CELL)
    view.setUniformItemSizes(True)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setMovement(QListView.Movement.Static)
    view.setWordWrap(True)
    view.setLayoutMode(QListView.LayoutMode.Batched)  # a huge gallery lays out in steps
    view.setBatchSize(200)
    view.setFrameShape(QFrame.Shape.NoFrame)
    view.setSelectionMode(
        QListView.SelectionMode.SingleSelection if selectable else QListView.SelectionMode.NoSelection
    )
    return view
