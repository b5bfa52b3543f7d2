"""Runs side by side: one row per compared run, the settings that differ, and their final figures.

The curves of the same runs are overlaid in the view's own plots (one colour per run, the colour
shown in the first column here), so the training's curves stay as they were;
`engine.experiments.compare` decides what differs and labels each run.
"""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QPushButton, QTableView, QWidget

from engine import format_value
from gui import theme
from gui.panels.plots import MetricPlot, XAxisChoice
from gui.text import format_seconds, setting_name
from gui.widgets import ElidedLabel, heading, panel_layout

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
    """Columns: the runs (their colour in the header, as in the plots); rows: each setting that
    differs, then the final figures. Transposed, so a few runs fit a narrow view whatever the
    number of figures."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.runs: list[Any] = []  # engine.experiments.compare.RunRow
        self.differences: dict[str, list[Any]] = {}

    def set_comparison(self, comparison: Any) -> None:
        self.beginResetModel()
        self.runs = list(comparison.runs)
        self.differences = dict(comparison.differences)
        self.endResetModel()

    @property
    def keys(self) -> list[str]:
        return list(self.differences)

    @property
    def rows(self) -> list[Any]:
        """The compared runs (engine RunRow), in the plots' colour order."""
        return self.runs

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() or not self.runs else len(self.differences) + len(FIGURES)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() or not self.runs else 1 + len(self.runs)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if section == 0:
            return "" if role == Qt.ItemDataRole.DisplayRole else None
        run = self.runs[section - 1]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"Run {section}"
        if role == Qt.ItemDataRole.DecorationRole:
            return _swatch(theme.RUN_COLORS[(section - 1) % len(theme.RUN_COLORS)])
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{run.label or '(same settings)'}\n{run.run_dir}"
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column, keys = index.row(), index.column(), self.keys
        setting = row < len(keys)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return setting_name(keys[row]) if setting else FIGURES[row - len(keys)][0]
            if setting:
                return format_value(keys[row], self.differences[keys[row]][column - 1])
            _, attribute, kind = FIGURES[row - len(keys)]
            return _figure(getattr(self.runs[column - 1], attribute), kind)
        if role == Qt.ItemDataRole.ToolTipRole:
            return keys[row] if setting and column == 0 else self.runs[column - 1].run_dir if column else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QColor(theme.TEXT_DIM)
        return None


class ComparisonPanel(QWidget):
    """The comparison view in the centre: the runs' curves overlaid (one colour per run, dashed
    training, solid validation) above the table of what differs and their final figures (the
    table's colour swatches are the plots' legend); `close_requested` when the user is done."""

    close_requested = Signal()
    MAX_ROWS_SHOWN = 7  # more rows scroll (the plots keep their height); fewer are all shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ComparisonPanel")
        layout = panel_layout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        self.title = heading("Comparing runs")
        top.addWidget(self.title)
        top.addStretch(1)
        self.axis = XAxisChoice()
        self.axis.currentIndexChanged.connect(lambda _i: self._draw())
        top.addWidget(self.axis)
        close = QPushButton("✕ Close comparison")
        close.setObjectName("FlatButton")
        close.setToolTip("Back to the curves of the training or the opened run")
        close.clicked.connect(self.close_requested)
        top.addWidget(close)
        layout.addLayout(top)
        self.note = ElidedLabel("")
        self.note.setObjectName("Hint")
        layout.addWidget(self.note)
        plots = QHBoxLayout()
        plots.setSpacing(8)
        self.loss = MetricPlot("Loss", "loss", empty="The loss of each compared run, epoch by epoch.")
        self.accuracy = MetricPlot(
            "Accuracy", "accuracy", percent=True, empty="The accuracy of each compared run, epoch by epoch."
        )
        self.accuracy.widget.setXLink(self.loss.widget)
        plots.addWidget(self.loss.widget, 1)
        plots.addWidget(self.accuracy.widget, 1)
        layout.addLayout(plots, 1)
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
        self.table.horizontalHeader().setMinimumSectionSize(72)
        self.table.verticalHeader().setDefaultSectionSize(22)
        layout.addWidget(self.table)
        self._coloured: list[tuple[str, str, list[Any]]] = []  # (label, colour, history) per run

    def show_comparison(self, comparison: Any, histories: list[Any]) -> None:
        """The runs of `comparison` (engine.Comparison) and their histories, in the same order."""
        self.model.set_comparison(comparison)
        keys = [setting_name(key) for key in comparison.differences]
        self.title.setText(f"Comparing {len(comparison.runs)} runs")
        self.note.set_text(
            (
                "What differs: " + ", ".join(keys) + "."
                if keys
                else "The runs have the same settings (repeats of one experiment)."
            )
            + " Curves: dashed training, solid validation, colours as in the table; against epochs or seconds of"
            " training (the choice above them). Time: the whole run; Training: the epochs alone."
        )
        self._coloured = [
            (row.label, theme.RUN_COLORS[i % len(theme.RUN_COLORS)], history)
            for i, (row, history) in enumerate(zip(comparison.runs, histories))
        ]
        self._draw()
        self._fit_table(self.model.rowCount())

    @property
    def x_axis(self) -> str:
        return str(self.axis.currentData())

    def set_x_axis(self, axis: str) -> None:
        """Draw the runs against "epochs" or "seconds" of training."""
        self.axis.setCurrentIndex(max(0, self.axis.findData(axis)))

    def _draw(self) -> None:
        for plot in (self.loss, self.accuracy):
            plot.show_runs(self._coloured, self.x_axis == "seconds")

    def _fit_table(self, rows: int) -> None:
        """Every row shows (up to `MAX_ROWS_SHOWN`; more scroll), whatever the height left."""
        shown = min(rows, self.MAX_ROWS_SHOWN)
        header = self.table.horizontalHeader()
        header.resizeSections(QHeaderView.ResizeMode.ResizeToContents)
        height = header.sizeHint().height() + shown * self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(height + 2 * self.table.frameWidth() + 2)

    def hide_comparison(self) -> None:
        self._coloured = []
        self.model.set_comparison(_NoComparison())
        for plot in (self.loss, self.accuracy):
            plot.reset()


class _NoComparison:
    runs: tuple[Any, ...] = ()
    differences: ClassVar[dict[str, list[Any]]] = {}
