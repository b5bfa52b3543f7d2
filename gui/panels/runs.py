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

COLUMNS = ("Created", "Val acc", "Status", "What")
COLUMN_TIPS = (
    "When the run was made",
    "Validation accuracy at the end",
    "How it ended (finished, stopped, failed, cut short, broken); a grid's or a lesson's when it was made for one",
    "What tells it apart from the runs around it: a grid's factors, the settings that differ, or its model and data",
)
VALUE_COLUMNS = (1,)  # right-aligned numbers
MEASURED_ROWS = 64  # column widths follow the first rows (the newest runs), not all of them
STATUS_WORDS = {"finished": "finished", "stopped": "stopped", "failed": "failed", "unfinished": "cut short"}


class RunsModel(QAbstractTableModel):
    """One row per run summary (engine.runs.folders.RunSummary) and its line (engine.RunLine);
    a broken run shows its reason."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.summaries: list[Any] = []
        self.lines: list[Any] = []

    def set_summaries(self, summaries: list[Any], lines: list[Any] | None = None) -> None:
        self.beginResetModel()
        self.summaries = list(summaries)
        self.lines = list(lines) if lines is not None and len(lines) == len(self.summaries) else []
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.summaries)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS[section]
        return None

    def line(self, row: int) -> Any:
        return self.lines[row] if row < len(self.lines) else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run, column, line = self.summaries[index.row()], index.column(), self.line(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell(run, line, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(run, line)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in VALUE_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            colour = {"failed": theme.BAD, "broken": theme.BAD, "stopped": theme.WARN, "unfinished": theme.WARN}
            return QBrush(QColor(colour.get(run.status, theme.TEXT_DIM)))
        if role == Qt.ItemDataRole.ForegroundRole and run.problem:
            return QBrush(QColor(theme.TEXT_DIM))
        return None


def _cell(run: Any, line: Any, column: int) -> str:
    if column == 0:
        return run.created[5:]  # "MM-DD HH:MM": the year costs width the column lacks
    if column == 1:
        if run.problem:
            return "–"
        return f"{run.val_accuracy:.1%}" if isinstance(run.val_accuracy, (int, float)) else "–"
    if column == 2:
        return status_word(run, line)
    what = line.what if line is not None else f"{run.arch} on {short_name(run.dataset)}"
    if run.parent:
        what = f"⑂ {_short_run(run.parent)} · ep {(run.parent_epoch or 0) + 1} · {what}"
    return what


def status_word(run: Any, line: Any) -> str:
    """finished, stopped, failed, cut short, broken; "grid" or "lesson" for a finished run made for one."""
    status = getattr(run, "status", "finished")
    if status == "finished" and line is not None and line.kind:
        return line.kind
    return STATUS_WORDS.get(status, status)


def _tooltip(run: Any, line: Any) -> str:
    parts = [str(run.path)]
    if run.problem:
        parts.append(f"⚠ {run.problem}")
    elif not run.has_model:
        parts.append("(no saved model)")
    figures = [f"{plural(run.epochs, 'epoch')}"]
    if isinstance(run.test_accuracy, (int, float)):
        figures.append(f"test accuracy {run.test_accuracy:.1%}")
    parts.append(f"{run.arch} on {short_name(run.dataset)} · " + " · ".join(figures))
    if line is not None and line.kind == "grid":
        parts.append(f"A run of the grid {Path(line.source).name}: {line.what}")
    elif line is not None and line.kind == "lesson":
        parts.append(f"Made for the lesson {line.source}")
    if run.parent:
        parts.append(f"Forked from {run.parent} at epoch {(run.parent_epoch or 0) + 1}")
    return "\n".join(parts)


def _short_run(path: str) -> str:
    """`20261123-101502-digits-mlp` → `11-23 10:15` (the parent's Created cell)."""
    name = Path(path).name
    stamp = name[:15]
    if len(stamp) == 15 and stamp[8] == "-" and stamp.replace("-", "").isdigit():
        return f"{stamp[4:6]}-{stamp[6:8]} {stamp[9:11]}:{stamp[11:13]}"
    return name


class RunsPanel(QWidget):
    """The runs table (the runs controller's view); asks by signals to open, reuse or go on with a run."""

    open_requested = Signal(str)
    settings_requested = Signal(str)
    compare_requested = Signal(list)  # the paths of the selected runs (two or more)
    refresh_requested = Signal()
    selection_changed = Signal(list)  # the paths of the selected runs
    resume_requested = Signal(str)  # go on from the last complete epoch, to the planned epochs
    keep_wanted = Signal(str)  # continue or fork: the controller offers the checkpoints (`choose_keep`)
    keep_requested = Signal(str, str, int, int)  # path, "continue" | "fork", checkpoint epoch (0-based), more epochs

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
        for b in (self.refresh_button, self.folder_button):
            top.addWidget(b)
        layout.addLayout(top)
        self.open_button = QPushButton("Open run")
        self.open_button.setToolTip("Show this run's curves and metrics, and classify with its model")
        self.open_button.clicked.connect(self._open_selected)
        self.settings_button = QPushButton("Use settings")
        self.settings_button.setToolTip(
            "Copy this run's data, architecture, freezing and training settings into the controls"
        )
        self.settings_button.clicked.connect(self._settings_selected)
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
            "Go on with a run that stopped early (Stop, a crash, a kill) from its last complete "
            "epoch up to its planned epochs, in the same folder; the curves go on where they were"
        )
        self.resume_button.clicked.connect(lambda: self._emit_selected(self.resume_requested))
        self.keep_button = QPushButton("Continue or fork…")
        self.keep_button.setToolTip(
            "Train a run for more epochs: in its own folder (continue), or as a new run from one of its "
            "checkpoints with the current settings (fork)"
        )
        self.keep_button.clicked.connect(lambda: self._emit_selected(self.keep_wanted))
        keep = QHBoxLayout()
        for button in (self.resume_button, self.keep_button):
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
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.verticalHeader().setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(MEASURED_ROWS)
        header.setMinimumSectionSize(40)
        for column in range(len(COLUMNS) - 1):  # Created, Val acc and Status always whole
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)  # What: the rest, elided
        self.table.doubleClicked.connect(lambda _: self._open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        layout.addWidget(self.table, 1)
        self.summaries: list[Any] = []
        self.root: Path | None = root
        self.locked = False
        self.keep_dialog: Any = None

    def show_listing(self) -> None:
        self.note.setText("Reading the runs folder…")

    def show_runs(self, summaries: tuple[Any, ...], lines: tuple[Any, ...], problem: str) -> None:
        """One row per run, newest first; a broken run is listed with its reason, never hidden. The
        selection is kept across a new listing."""
        selected = set(self.selected_paths())
        self.summaries = list(summaries)
        self.model.set_summaries(self.summaries, list(lines))
        selection = self.table.selectionModel()
        for row, run in enumerate(self.summaries):
            if str(run.path) in selected:
                selection.select(
                    self.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows
                )
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
        self._on_selection()

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        self.open_button.setEnabled(not locked)
        self.settings_button.setEnabled(not locked)
        self._on_selection()

    # --- the keep controller's view -------------------------------------------------------------------
    def choose_keep(self, offer: Any, current_epochs: int) -> None:
        """The Continue-or-fork dialog for a run: its checkpoints, epochs to add; validated on Start."""
        from gui.keep_dialog import KeepDialog

        self.keep_dialog = KeepDialog(offer, current_epochs, self)
        self.keep_dialog.start_requested.connect(self.keep_requested)
        self.keep_dialog.show()

    def show_keep_problem(self, text: str) -> None:
        """Why the dialog's choice cannot run: said in the dialog, which stays open."""
        if self.keep_dialog is not None:
            self.keep_dialog.show_problem(text)

    def close_keep(self) -> None:
        if self.keep_dialog is not None:
            self.keep_dialog.accept()
            self.keep_dialog = None

    # --- selection ------------------------------------------------------------------------------------
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

    def selected_summary(self) -> Any:
        path = self.selected_path()
        return next((run for run in self.summaries if str(run.path) == path), None)

    def _on_selection(self) -> None:
        paths = self.selected_paths()
        count = len(paths)
        run = self.selected_summary() if count == 1 else None
        self.resume_button.setEnabled(run is not None and not self.locked and getattr(run, "resumable", False))
        self.keep_button.setEnabled(run is not None and not self.locked and not run.problem)
        self.compare_button.setEnabled(count >= 2)
        self.compare_button.setText(f"Compare {count}" if count >= 2 else "Compare")
        self.selection_changed.emit(paths)

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
