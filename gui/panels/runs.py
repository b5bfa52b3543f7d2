"""Runs panel: every training saved on disk, newest first; open one to see and use it.

The table is a `QTableView` over `RunsModel`: a listing of hundreds of runs is one model reset,
measured once, not thousands of cell widgets each re-measuring its column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QDesktopServices
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableView, QWidget

from gui import theme
from gui.text import plural, short_name
from gui.widgets import heading, hint, panel_layout

COLUMNS = ("Created", "Data", "Model", "Ep.", "Val acc", "Test acc", "From")
RIGHT_ALIGNED_FROM = 3
MEASURED_ROWS = 64  # column widths follow the first rows (the newest runs), not all of them


class RunsModel(QAbstractTableModel):
    """One row per run summary (engine.runs.folders.RunSummary); a broken run shows its reason."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.summaries: list[Any] = []

    def set_summaries(self, summaries: list[Any]) -> None:
        self.beginResetModel()
        self.summaries = list(summaries)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.summaries)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run, column = self.summaries[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(run, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                str(run.path)
                + (f"\n⚠ {run.problem}" if run.problem else "" if run.has_model else "\n(no saved model)")
                + (f"\nForked from {run.parent} at epoch {(run.parent_epoch or 0) + 1}" if run.parent else "")
            )
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= RIGHT_ALIGNED_FROM:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and run.problem:
            return QBrush(QColor(theme.BAD if column == 4 else theme.TEXT_DIM))
        return None


def _cell(run: Any, column: int) -> str:
    if column == 0:
        return run.created[5:]  # "MM-DD HH:MM": the year costs width the column lacks
    if column == 1:
        return short_name(run.dataset)
    if column == 2:
        return run.arch
    if column == 3:
        return str(run.epochs)
    if column == 6:
        return f"⑂ {_short_run(run.parent)} · ep {(run.parent_epoch or 0) + 1}" if run.parent else ""
    if run.problem:
        return "broken" if column == 4 else ""
    acc = run.val_accuracy if column == 4 else run.test_accuracy
    return f"{acc:.1%}" if isinstance(acc, (int, float)) else "–"


def _short_run(path: str) -> str:
    """`20261123-101502-digits-mlp` → `11-23 10:15` (the parent's Created cell)."""
    name = Path(path).name
    stamp = name[:15]
    if len(stamp) == 15 and stamp[8] == "-" and stamp.replace("-", "").isdigit():
        return f"{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}"
    return name


class RunsPanel(QWidget):
    """The runs table (the runs controller's view); asks by signals to open or reuse a run."""

    open_requested = Signal(str)
    settings_requested = Signal(str)
    compare_requested = Signal(list)  # the paths of the selected runs (two or more)
    refresh_requested = Signal()
    resume_requested = Signal(str)  # go on from the last complete epoch
    continue_requested = Signal(str, int)  # path, more epochs
    fork_wanted = Signal(str)  # which checkpoint? (the controller lists them, then `choose_fork_epoch`)
    fork_requested = Signal(str, int)  # path, epoch (0-based) of the checkpoint

    def __init__(self, root: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = panel_layout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Runs"))
        top.addStretch(1)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("FlatButton")
        self.refresh_button.clicked.connect(self.refresh_requested)
        self.folder_button = QPushButton("Show folder")
        self.folder_button.setObjectName("FlatButton")
        self.folder_button.clicked.connect(self._show_folder)
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Show this run's curves and metrics, and classify with its model")
        self.open_button.clicked.connect(self._open_selected)
        self.settings_button = QPushButton("Use its settings")
        self.settings_button.setToolTip(
            "Copy this run's data, architecture, freezing and training settings into the controls"
        )
        self.settings_button.clicked.connect(self._settings_selected)
        for b in (self.refresh_button, self.folder_button):
            top.addWidget(b)
        layout.addLayout(top)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip(
            "Overlay the curves of the selected runs (Ctrl+click or Shift+click to select "
            "several) and list the settings that differ"
        )
        self.compare_button.clicked.connect(lambda: self.compare_requested.emit(self.selected_paths()))
        self.compare_button.setEnabled(False)
        # The main actions get a row of their own: the right column is too narrow for all buttons.
        actions = QHBoxLayout()
        for button in (self.open_button, self.settings_button, self.compare_button):
            actions.addWidget(button, 1)
        layout.addLayout(actions)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip(
            "Go on with a run that stopped (Stop, a crash, a kill) from its last complete "
            "epoch, in the same folder; the curves go on where they were"
        )
        self.resume_button.clicked.connect(lambda: self._emit_selected(self.resume_requested))
        self.continue_button = QPushButton("Continue…")
        self.continue_button.setToolTip("Train a run (finished or not) for more epochs, in the same folder")
        self.continue_button.clicked.connect(self._ask_continue)
        self.fork_button = QPushButton("Fork…")
        self.fork_button.setToolTip(
            "A new run starting from one of this run's checkpoints (the latest or the best) "
            "with the current training, augmentation and freezing settings: 'Use its "
            "settings', change what you want, then Fork"
        )
        self.fork_button.clicked.connect(lambda: self._emit_selected(self.fork_wanted))
        keep = QHBoxLayout()
        for button in (self.resume_button, self.continue_button, self.fork_button):
            button.setEnabled(False)
            keep.addWidget(button, 1)
        layout.addLayout(keep)
        self.note = hint("")
        layout.addWidget(self.note)
        self.model = RunsModel(self)
        self.table = QTableView()
        self.table.setObjectName("RunsTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setResizeContentsPrecision(MEASURED_ROWS)
        self.table.doubleClicked.connect(lambda _: self._open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        layout.addWidget(self.table, 1)
        self.summaries: list[Any] = []
        self.root: Path | None = root
        self.locked = False

    def show_listing(self) -> None:
        self.note.setText("Reading the runs folder…")

    def show_runs(self, summaries: tuple[Any, ...], problem: str) -> None:
        """One row per run, newest first; a broken run is listed with its reason, never hidden."""
        self.summaries = list(summaries)
        self.model.set_summaries(self.summaries)
        self.table.resizeColumnsToContents()  # once per listing: the rows on screen decide
        broken = sum(bool(run.problem) for run in self.summaries)
        count = plural(len(self.summaries), "run") + (f" ({broken} broken: hover for why)" if broken else "")
        self.note.setText(
            problem
            or (
                "No runs yet: every training is saved here."
                if not self.summaries
                else f"{count} · double-click to open"
            )
        )

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        self.open_button.setEnabled(not locked)
        self.settings_button.setEnabled(not locked)
        self._on_selection()

    def choose_fork_epoch(self, path: str, epochs: list[int]) -> None:
        """Ask which kept checkpoint a fork starts from; emits `fork_requested`."""
        from PySide6.QtWidgets import QInputDialog

        labels = [f"after epoch {epoch + 1}" for epoch in epochs]
        label, ok = QInputDialog.getItem(
            self,
            "Fork from a checkpoint",
            f"Run {Path(path).name} keeps these checkpoints (the latest and the best).\n"
            "The new run starts from the one you choose, with the current settings:",
            labels,
            len(labels) - 1,
            False,
        )
        if ok and label in labels:
            self.fork_requested.emit(path, epochs[labels.index(label)])

    def _ask_continue(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        path = self.selected_path()
        if path is None:
            return
        extra, ok = QInputDialog.getInt(
            self, "Continue training", f"More epochs for run {Path(path).name}:", 5, 1, 100000
        )
        if ok:
            self.continue_requested.emit(path, extra)

    def _emit_selected(self, signal: Any) -> None:
        path = self.selected_path()
        if path:
            signal.emit(path)

    def selected_paths(self) -> list[str]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [str(self.summaries[row].path) for row in rows if row < len(self.summaries)]

    def selected_path(self) -> str | None:
        paths = self.selected_paths()
        return paths[0] if paths else None

    def _on_selection(self) -> None:
        count = len(self.selected_paths())
        for button in (self.resume_button, self.continue_button, self.fork_button):
            button.setEnabled(count == 1 and not self.locked)
        self.compare_button.setEnabled(count >= 2)
        self.compare_button.setText(f"Compare {count}" if count >= 2 else "Compare")

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
            path = str(self.root)
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))
