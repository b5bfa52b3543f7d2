"""File → Caches and memory…: how much the disk caches hold, clearing them, and the memory budget."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.binding import Binder
from gui.session import EventedStore
from gui.widgets import heading, hint

BUDGET_TIP = (
    "How much memory LayerLab's in-memory caches (decoded images, features of frozen layers) may take; "
    "beyond it they go to the disk caches. Automatic: a quarter of this machine's memory, at most 4 GiB."
)


def _size(nbytes: int) -> str:
    for unit, step in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= step:
            return f"{nbytes / step:.1f} {unit}"
    return f"{nbytes} B"


class CachesDialog(QDialog):
    clear_requested = Signal()

    def __init__(self, preferences: EventedStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Caches and memory")
        self.resize(620, 360)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Memory"))
        form = QFormLayout()
        self.budget = QSpinBox()
        self.budget.setRange(0, 1_048_576)
        self.budget.setSingleStep(512)
        self.budget.setSuffix(" MB")
        self.budget.setSpecialValueText("automatic")
        self.budget.setToolTip(BUDGET_TIP)
        self.binder = Binder(preferences)
        self.binder.field(self.budget, "memory_budget_mb")
        form.addRow("Memory budget", self.budget)
        layout.addLayout(form)
        layout.addWidget(hint(BUDGET_TIP))
        layout.addWidget(heading("Disk caches"))
        layout.addWidget(
            hint(
                "Decoded images of class folders and the features of frozen layers are kept on disk, so a "
                "second epoch or a second run does not compute them again. Clearing only costs time."
            )
        )
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Cache", "Size", "Entries", "Limit"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.total = hint("")
        layout.addWidget(self.total)
        self.status = hint("")
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.clear_button = QPushButton("Clear caches")
        self.clear_button.clicked.connect(self.clear_requested)
        buttons.addButton(self.clear_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)

    def show_usage(self, usage: list[Any]) -> None:
        self.table.setRowCount(len(usage))
        names = {"images": "decoded images", "features": "frozen-layer features"}
        for row, entry in enumerate(usage):
            cells = (
                names.get(entry.kind, entry.kind),
                _size(entry.bytes),
                f"{entry.entries:,}",
                _size(entry.limit_bytes),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(entry.path))
                self.table.setItem(row, column, item)
        self.total.setText(f"In all {_size(sum(e.bytes for e in usage))} under {usage[0].path.parent}" if usage else "")

    def show_cleared(self, freed: int) -> None:
        self.status.setText(f"Cleared: {_size(freed)} freed.")
