"""Precision, recall, F1 and support per class, sortable: which classes the model gets wrong."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QTableView, QVBoxLayout, QWidget

from gui.widgets import hint

COLUMNS = ("Class", "Precision", "Recall", "F1", "Support")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
TIPS = (
    "",
    "Of the images predicted as this class, the share that really are it",
    "Of the images of this class, the share the model finds",
    "The harmonic mean of precision and recall",
    "How many images of this class the split has",
)


class PerClassTable(QWidget):
    """`show(per_class, test_per_class)`; the user picks the split and sorts by any column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.note = hint("Click a column to sort: the weakest classes first.")
        top.addWidget(self.note, 1)
        self.split = QComboBox()
        self.split.addItem("validation", "validation")
        self.split.setToolTip("The split the figures are computed on")
        self.split.activated.connect(lambda _i: self._fill())
        top.addWidget(self.split)
        layout.addLayout(top)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        for column, tip in enumerate(TIPS):
            if tip:
                self.model.horizontalHeaderItem(column).setToolTip(tip)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setObjectName("PerClassTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self._splits: dict[str, list[Any]] = {}

    def show_rows(self, per_class: list[Any], test_per_class: list[Any]) -> None:
        self._splits = {"validation": list(per_class)}
        if test_per_class:
            self._splits["test"] = list(test_per_class)
        current = self.split.currentData()
        self.split.clear()
        for name in self._splits:
            self.split.addItem(name, name)
        self.split.setCurrentIndex(max(0, self.split.findData(current)))
        self.split.setVisible(len(self._splits) > 1)
        self._fill()

    def _fill(self) -> None:
        rows = self._splits.get(self.split.currentData() or "validation", [])
        self.model.removeRows(0, self.model.rowCount())
        for row in rows:
            cells = [QStandardItem(str(row.name))] + [
                QStandardItem(f"{v:.1%}") for v in (row.precision, row.recall, row.f1)
            ]
            cells.append(QStandardItem(f"{row.support:,}"))
            for cell, value in zip(cells, (row.name, row.precision, row.recall, row.f1, row.support)):
                cell.setData(value, SORT_ROLE)
                cell.setEditable(False)
            for cell in cells[1:]:
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.model.appendRow(cells)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)

    def rows_shown(self) -> list[str]:
        """Class names in the order the table shows them (tests)."""
        return [self.proxy.index(r, 0).data() for r in range(self.proxy.rowCount())]
