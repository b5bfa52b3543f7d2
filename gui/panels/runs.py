"""Runs panel: every training saved on disk, newest first; open one to see and use it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import heading, hint

COLUMNS = ("Created", "Data", "Model", "Ep.", "Val acc")


def list_runs_safely(root: Path | None = None) -> tuple[list[Any], str]:
    """(summaries, problem): reading the runs folder must never take the window down."""
    try:
        from engine.runs import list_runs

        return list_runs(root), ""
    except Exception as err:  # unreadable folder, permissions...
        return [], f"cannot list runs: {err}"


class RunsPanel(QWidget):
    open_requested = Signal(str)
    settings_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        top = QHBoxLayout()
        top.addWidget(heading("Runs"))
        top.addStretch(1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("FlatButton")
        self.refresh_button.clicked.connect(self.refresh)
        self.folder_button = QPushButton("Show folder")
        self.folder_button.setObjectName("FlatButton")
        self.folder_button.clicked.connect(self._show_folder)
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Show this run's curves and metrics, and classify with its model")
        self.open_button.clicked.connect(self._open_selected)
        self.settings_button = QPushButton("Use its settings")
        self.settings_button.setToolTip("Copy this run's data, architecture, freezing and training settings into the controls")
        self.settings_button.clicked.connect(self._settings_selected)
        for b in (self.refresh_button, self.folder_button):
            top.addWidget(b)
        layout.addLayout(top)
        # The main actions get a row of their own: the right column is too narrow for four buttons.
        actions = QHBoxLayout()
        actions.addWidget(self.open_button, 1)
        actions.addWidget(self.settings_button, 1)
        layout.addLayout(actions)
        self.note = hint("")
        layout.addWidget(self.note)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("RunsTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _: self._open_selected())
        layout.addWidget(self.table, 1)
        self.summaries: list[Any] = []
        self.root: Path | None = None

    def refresh(self) -> None:
        self.summaries, problem = list_runs_safely(self.root)
        self.table.setRowCount(len(self.summaries))
        for r, run in enumerate(self.summaries):
            acc = run.val_accuracy
            cells = (run.created[5:],  # "MM-DD HH:MM": the year costs width the column lacks
                     _dataset_label(run.dataset), run.arch, str(run.epochs),
                     "broken" if run.problem else f"{acc:.1%}" if isinstance(acc, (int, float)) else "–")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(run.path) + ("" if run.has_model else "\n(no saved model)")
                                + (f"\n{run.problem}" if run.problem else ""))
                if c >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.note.setText(problem or ("No runs yet: every training is saved here." if not self.summaries
                                      else f"{len(self.summaries)} run{'s' if len(self.summaries) != 1 else ''} · double-click to open"))

    def selected_path(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.summaries):
            return None
        return str(self.summaries[rows[0].row()].path)

    def _open_selected(self) -> None:
        path = self.selected_path()
        if path:
            self.open_requested.emit(path)

    def _settings_selected(self) -> None:
        path = self.selected_path()
        if path:
            self.settings_requested.emit(path)

    def _show_folder(self) -> None:
        path = self.selected_path()
        if path is None:
            from engine.runs import default_runs_root

            path = str(self.root or default_runs_root())
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))


def _dataset_label(name: str) -> str:
    if ":" in name:
        kind, path = name.split(":", 1)
        return f"{kind}: {Path(path).name}"
    return name
