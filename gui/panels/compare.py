"""Runs side by side: one row per compared run, the settings that differ, and their final figures.

The curves of the same runs are overlaid in the plots (one colour per run, the colour shown in
the first column here); `engine.experiments.compare` decides what differs and labels each run.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableView, QWidget

from gui import theme
from gui.text import format_seconds, setting_name
from gui.widgets import heading, hint, panel_layout

FIGURES = (
    ("Val acc", "val_accuracy", "percent"),
    ("Test acc", "test_accuracy", "percent"),
    ("Val loss", "val_loss", "loss"),
    ("Test loss", "test_loss", "loss"),
    ("Epochs", "epochs_run", "int"),
    ("Time", "seconds", "time"),
    ("Training", "train_seconds", "time"),
    ("Trainable", "trainable_params", "int"),
)


def _figure(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "loss":
        return f"{value:.4f}"
    if kind == "time":
        return format_seconds(value)
    return f"{int(value):,}"


def _swatch(colour: str) -> QPixmap:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return pixmap


class ComparisonModel(QAbstractTableModel):
    """Rows: runs; columns: the run, each differing setting, then the final figures."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []  # engine.experiments.compare.RunRow
        self.differences: dict[str, list[Any]] = {}

    def set_comparison(self, comparison: Any) -> None:
        self.beginResetModel()
        self.rows = list(comparison.runs)
        self.differences = dict(comparison.differences)
        self.endResetModel()

    @property
    def keys(self) -> list[str]:
        return list(self.differences)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else 1 + len(self.differences) + len(FIGURES)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        keys = self.keys
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Run"
            if section <= len(keys):
                return setting_name(keys[section - 1])
            return FIGURES[section - 1 - len(keys)][0]
        if role == Qt.ItemDataRole.ToolTipRole and 0 < section <= len(keys):
            return keys[section - 1]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column, keys = self.rows[index.row()], index.column(), self.keys
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return row.label or "(same settings)"
            if column <= len(keys):
                return str(self.differences[keys[column - 1]][index.row()])
            _, attribute, kind = FIGURES[column - 1 - len(keys)]
            return _figure(getattr(row, attribute), kind)
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return _swatch(theme.RUN_COLORS[index.row() % len(theme.RUN_COLORS)])
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.run_dir
        if role == Qt.ItemDataRole.TextAlignmentRole and column > len(keys):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ComparisonPanel(QWidget):
    """Shown under the plots while runs are compared; `close_requested` when the user is done."""

    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComparisonPanel")
        layout = panel_layout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.title = heading("Comparing runs")
        top.addWidget(self.title)
        top.addStretch(1)
        close = QPushButton("✕ Close comparison")
        close.setObjectName("FlatButton")
        close.clicked.connect(self.close_requested)
        top.addWidget(close)
        layout.addLayout(top)
        self.note = hint("")
        layout.addWidget(self.note)
        self.model = ComparisonModel(self)
        self.table = QTableView()
        self.table.setObjectName("ComparisonTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.hide()

    def show_comparison(self, comparison: Any) -> None:
        self.model.set_comparison(comparison)
        keys = [setting_name(key) for key in comparison.differences]
        self.title.setText(f"Comparing {len(comparison.runs)} runs")
        self.note.setText(
            (
                "What differs: " + ", ".join(keys)
                if keys
                else "The runs have the same settings (repeats of one experiment)."
            )
            + " Curves: dashed training, solid validation; against epochs or seconds of training (the choice"
            " above the curves). Time: the whole run; Training: the epochs alone."
        )
        self.show()

    def hide_comparison(self) -> None:
        self.hide()
