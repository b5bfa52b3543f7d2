"""Ablation grids: the plan (factors × levels × repeats) and the live results.

`GridPlanPanel` (a tab of the left column) edits the session's `GridPlan`; the grid itself is
validated and run by the engine (`engine.experiments.grid`) through the grid controller.
`GridResultsPanel` (a view of the centre) shows one row per combination as the runs finish: mean ±
standard deviation of validation and test accuracy over the repeats, time per run, and a mark
where a row is significantly worse than the best (Welch's t-test), with a bar chart of the same.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from engine import format_value, settings_label
from gui import theme
from gui.binding import Binder
from gui.panels.plots import EmptyNote, EpochAxis
from gui.session import EventedStore, FactorText, GridState
from gui.text import format_seconds, plural, setting_name
from gui.widgets import ElidedLabel, heading, hint, panel_layout

#: The factors a grid can vary: (dotted config key, what the user reads, example levels).
FACTORS = (
    ("arch.dropout", "Dropout on/off", "off, on"),
    ("arch.dropout_rate", "Dropout rate", "0.2, 0.5"),
    ("arch.batchnorm", "Batch normalisation", "off, on"),
    ("arch.activation", "Activation", "relu, elu, tanh"),
    ("arch.name", "Architecture", "mlp, naive_cnn, bn_cnn"),
    ("training.optimizer", "Optimizer", "sgd, adam, rmsprop"),
    ("training.learning_rate", "Learning rate", "0.01, 0.001, 0.0001"),
    ("training.batch_size", "Batch size", "32, 128"),
    ("training.epochs", "Epochs", "5, 10"),
    ("augmentation", "Augmentation on/off", "off, on"),
    ("freeze_all_but", "Freeze all but the last N", "1, 2, 4"),
    ("data.image_size", "Image size", "32, 64"),
    ("data.resample", "Shrink photos", "bilinear, lanczos"),
)
MAX_FACTORS = 4
#: Where a grid's runs train: (preference value, what the user reads).
WHERE = (
    ("local", "Here, one at a time"),
    ("ray", "Here, in parallel (Ray)"),
    ("cluster", "On a Ray cluster"),
)
WHERE_TIP = (
    "Here, one at a time: the runs train one after another in this process, as a single training does. "
    "Here, in parallel: each run trains in its own process on a private Ray instance, as many at once as the cores "
    "(or GPUs) allow. On a Ray cluster: the runs train on the cluster's machines and come home whole. "
    "Ray is an optional extra: pip install 'layerlab[ray]'."
)

GRID_TIP = (
    "A grid trains every combination of the levels below, each one `repeats` times with a different seed, "
    "one run after another or several at once (Where; each an ordinary run in the Runs tab). The results table shows the mean ± standard "
    "deviation over the repeats and marks combinations that are significantly worse than the best one "
    "(Welch's t-test, p < 0.05), so a difference within the noise is not read as a lesson."
)


def levels(text: str) -> list[str]:
    """ "0, 0.5" → ["0", "0.5"] (the engine checks and converts them)."""
    return [part.strip() for part in text.split(",") if part.strip()]


class GridPlanPanel(QWidget):
    """Edits the grid plan; `run_requested`, `resume_requested` start the grid through the controller."""

    run_requested = Signal()
    resume_requested = Signal()

    def __init__(self, plan: EventedStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.binder = Binder(plan)
        layout = panel_layout(self, "Grid of experiments")
        intro = hint("Train every combination of a few settings, several times each, and compare them fairly.")
        intro.setToolTip(GRID_TIP)
        layout.addWidget(intro)
        self.rows = QGridLayout()
        self.rows.setHorizontalSpacing(6)
        layout.addLayout(self.rows)
        self.add_button = QPushButton("+ Add a factor")
        self.add_button.setObjectName("FlatButton")
        self.add_button.clicked.connect(self._add_factor)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        repeats_row = QHBoxLayout()
        self.repeats = QSpinBox()
        self.repeats.setRange(1, 20)
        self.repeats.setPrefix("× ")
        self.repeats.setSuffix(" repeats (seeds)")
        self.repeats.setToolTip(
            "Each combination is trained this many times with different seeds: the spread shows "
            "the noise. Two or more are needed to tell real differences from chance."
        )
        self.binder.field(self.repeats, "repeats")
        repeats_row.addWidget(self.repeats, 1)
        layout.addLayout(repeats_row)
        self.summary = hint("")
        layout.addWidget(self.summary)
        layout.addLayout(self._where_rows())
        buttons = QHBoxLayout()
        self.run_button = QPushButton("▶  Run grid")
        self.run_button.setObjectName("PrimaryButton")
        self.run_button.setToolTip(
            "Queue the runs on the training worker; Stop stops the grid and keeps the finished runs"
        )
        self.run_button.clicked.connect(self.run_requested)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Go on with the stopped grid where it stopped")
        self.resume_button.clicked.connect(self.resume_requested)
        self.resume_button.setEnabled(False)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.resume_button)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.binder.watch("factors", lambda _factors: self._show_factors())
        self.binder.watch("repeats", lambda _repeats: self._show_summary())

    # --- where the runs train ------------------------------------------------------------------------
    def _where_rows(self) -> QGridLayout:
        rows = QGridLayout()
        rows.setHorizontalSpacing(6)
        self.where = QComboBox()
        for value, label in WHERE:
            self.where.addItem(label, value)
        self.where.setToolTip(WHERE_TIP)
        self.address = QLineEdit()
        self.address.setPlaceholderText("ray://HOST:PORT")
        self.address.setToolTip("The Ray cluster's client address (its head node, port 10001 by default)")
        self.workers = QSpinBox()
        self.workers.setRange(0, 1024)
        self.workers.setSpecialValueText("auto")
        self.workers.setSuffix(" at once")
        self.workers.setToolTip("Runs training at once on Ray (auto: one per GPU, else one per core)")
        rows.addWidget(QLabel("Where"), 0, 0)
        rows.addWidget(self.where, 0, 1, 1, 2)
        rows.addWidget(self.address, 1, 1)
        rows.addWidget(self.workers, 1, 2)
        rows.setColumnStretch(1, 1)
        self.address.setEnabled(False)
        self.workers.setEnabled(False)
        self.where_binder: Binder | None = None
        return rows

    def bind_preferences(self, preferences: EventedStore) -> None:
        """Where the runs train is kept in the preferences (with the cluster's address)."""
        self.where_binder = Binder(preferences)
        self.where_binder.field(self.where, "grid_executor")
        self.where_binder.field(self.address, "cluster_address")
        self.where_binder.field(self.workers, "grid_workers")
        self.where_binder.enable_when(self.address, lambda p: p.grid_executor == "cluster")
        self.where_binder.enable_when(self.workers, lambda p: p.grid_executor != "local")

    # --- the factor rows ----------------------------------------------------------------------------
    def _show_factors(self) -> None:
        while self.rows.count():
            item = self.rows.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        factors = self.plan.value.factors
        for row, factor in enumerate(factors):
            key = QComboBox()
            for dotted, label, _ in FACTORS:
                key.addItem(label, dotted)
            key.setCurrentIndex(max(0, key.findData(factor.key)))
            key.activated.connect(lambda _i, r=row, box=key: self._set_key(r, box.currentData()))
            values = QLineEdit(factor.values)
            values.setPlaceholderText("levels, separated by commas")
            values.setToolTip("The levels to try, separated by commas (on/off for switches)")
            values.editingFinished.connect(lambda r=row, edit=values: self._set_values(r, edit.text()))
            remove = QPushButton("✕")
            remove.setObjectName("FlatButton")
            remove.setFixedWidth(28)
            remove.setToolTip("Remove this factor")
            remove.clicked.connect(lambda _c=False, r=row: self._remove(r))
            self.rows.addWidget(key, row, 0)
            self.rows.addWidget(values, row, 1)
            self.rows.addWidget(remove, row, 2)
        self.rows.setColumnStretch(1, 1)
        self.add_button.setEnabled(len(factors) < MAX_FACTORS)
        self._show_summary()

    def _show_summary(self) -> None:
        factors = self.plan.value.factors
        combinations = math.prod(max(1, len(levels(f.values))) for f in factors) if factors else 0
        runs = combinations * self.plan.value.repeats
        self.summary.setText(
            f"{plural(combinations, 'combination')} × {plural(self.plan.value.repeats, 'repeat')} = "
            f"<b>{plural(runs, 'run')}</b>"
            if factors
            else "Add a factor to vary."
        )

    def _factors(self) -> list[FactorText]:
        return [factor.model_copy() for factor in self.plan.value.factors]

    def _set_key(self, row: int, key: str) -> None:
        factors = self._factors()
        example = next(example for dotted, _, example in FACTORS if dotted == key)
        factors[row] = FactorText(key=key, values=example)
        self.plan.update(factors=[f.model_dump() for f in factors])

    def _set_values(self, row: int, text: str) -> None:
        factors = self._factors()
        if factors[row].values != text:
            factors[row] = FactorText(key=factors[row].key, values=text)
            self.plan.update(factors=[f.model_dump() for f in factors])

    def _remove(self, row: int) -> None:
        factors = self._factors()
        del factors[row]
        self.plan.update(factors=[f.model_dump() for f in factors])

    def _add_factor(self) -> None:
        used = {f.key for f in self.plan.value.factors}
        key, _, example = next((entry for entry in FACTORS if entry[0] not in used), FACTORS[0])
        self.plan.update(factors=[f.model_dump() for f in self._factors()] + [{"key": key, "values": example}])

    def set_locked(self, locked: bool) -> None:
        self.binder.set_locked(locked)
        for i in range(self.rows.count()):
            widget = self.rows.itemAt(i).widget()
            if widget is not None:
                widget.setEnabled(not locked)
        self.add_button.setEnabled(not locked and len(self.plan.value.factors) < MAX_FACTORS)
        self.run_button.setEnabled(not locked)
        if self.where_binder is not None:
            self.where_binder.set_locked(locked)

    def set_resumable(self, resumable: bool) -> None:
        self.resume_button.setEnabled(resumable)


def _key(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


def _mean_sd(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.1%}" + (f" ± {sd:.1%}" if sd is not None else "")


@dataclass(frozen=True)
class _Planned:
    """A combination whose runs have not finished yet: its settings, no figures."""

    settings: dict[str, Any]
    run_dirs: tuple[str, ...] = ()
    val_accuracy_mean: float | None = None
    val_accuracy_std: float | None = None
    test_accuracy_mean: float | None = None
    test_accuracy_std: float | None = None
    seconds_mean: float | None = None
    significantly_worse_than_best: bool | None = None


class GridModel(QAbstractTableModel):
    """One row per combination (every planned one, from the start): its settings, then the figures
    over its finished repeats."""

    FIGURES = ("Val acc", "Test acc", "Time / run", "Runs", "")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self.keys: list[str] = []
        self.current: list[dict[str, Any]] = []

    def set_state(
        self, rows: list[Any], current: list[dict[str, Any]], cells: list[dict[str, Any]] | None = None
    ) -> None:
        """`rows`: engine GridRows of the combinations with finished runs; `current`: the settings of
        the runs training now; `cells`: every planned combination, in the grid's order (those
        without a row are shown waiting)."""
        self.beginResetModel()
        done = {_key(row.settings): row for row in rows}
        planned = [done.pop(_key(cell), None) or _Planned(dict(cell)) for cell in cells or []]
        self.rows = planned + list(done.values())
        self.keys = list(self.rows[0].settings) if self.rows else list(current[0] if current else {})
        self.current = [dict(settings) for settings in current]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.keys) + len(self.FIGURES)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return setting_name(self.keys[section]) if section < len(self.keys) else self.FIGURES[section - len(self.keys)]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        training = row.settings in self.current
        if role == Qt.ItemDataRole.DisplayRole:
            if column < len(self.keys):
                key = self.keys[column]
                return format_value(key, row.settings[key]) if key in row.settings else ""
            figure = column - len(self.keys)
            return (
                _mean_sd(row.val_accuracy_mean, row.val_accuracy_std),
                _mean_sd(row.test_accuracy_mean, row.test_accuracy_std),
                format_seconds(row.seconds_mean) if row.seconds_mean is not None else "–",
                str(len(row.run_dirs)),
                "▼ worse" if row.significantly_worse_than_best else "● training" if training else "",
            )[figure]
        if role == Qt.ItemDataRole.ToolTipRole and row.significantly_worse_than_best:
            return "Significantly worse than the best combination (Welch's t-test, p < 0.05)"
        if role == Qt.ItemDataRole.ForegroundRole and column == self.columnCount() - 1:
            return QBrush(QColor(theme.BAD if row.significantly_worse_than_best else theme.ACCENT))
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= len(self.keys):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class GridResultsPanel(QWidget):
    """The grid view in the centre, while a grid runs or after: the live table (every column
    whole) above a bar chart of the same."""

    close_requested = Signal()
    MAX_ROWS_SHOWN = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("GridResults")
        layout = panel_layout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        self.title = heading("Grid")
        top.addWidget(self.title)
        top.addStretch(1)
        close = QPushButton("✕ Close")
        close.setObjectName("FlatButton")
        close.setToolTip("Back to the curves (a running grid goes on)")
        close.clicked.connect(self.close_requested)
        top.addWidget(close)
        layout.addLayout(top)
        self.note = ElidedLabel("")
        self.note.setObjectName("Hint")
        layout.addWidget(self.note)
        self.model = GridModel(self)
        self.table = QTableView()
        self.table.setObjectName("GridTable")
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table)
        self.legend = QLabel(
            f"Accuracy per combination, mean ± sd: <span style='color:{theme.VAL}'>■</span> validation "
            f"<span style='color:{theme.TRAIN}'>■</span> test"
        )
        self.legend.setObjectName("Legend")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self.bottom = EpochAxis("bottom")  # whole numbers: the combinations, numbered as the table's rows
        self.chart = pg.PlotWidget(axisItems={"bottom": self.bottom})
        self.chart.setObjectName("GridChart")
        self.chart.setMenuEnabled(False)
        self.chart.setYRange(0, 1, padding=0.02)
        self.chart.setMinimumHeight(160)
        self.left = self.chart.getPlotItem().getAxis("left")
        self.left.enableAutoSIPrefix(False)
        self.chart.getPlotItem().setLabel("bottom", "combination (row of the table)")
        self.empty = EmptyNote(self.chart, "Each combination's accuracy appears here as its runs finish.")
        layout.addWidget(self.chart, 1)

    def show_grid(self, state: GridState) -> None:
        running = list(state.running or ([state.settings] if state.settings else []))
        self.model.set_state(list(state.rows), running if state.status == "running" else [], list(state.cells))
        done = sum(len(row.run_dirs) for row in state.rows)
        several = f"training {len(running)} runs at once" + (f" {state.where}" if state.where else "")
        verb = {
            "running": several if len(running) > 1 else f"training run {state.current + 1} of {state.total}",
            "stopped": "stopped",
            "finished": "finished",
            "failed": "failed",
        }.get(state.status, state.status)
        self.title.setText(f"Grid · {verb}")
        self.note.set_text(
            f"{plural(done, 'run')} of {state.total} done · mean ± standard deviation over the repeats; "
            "▼ significantly worse than the best (Welch's t-test, p < 0.05)",
            state.grid_dir,
        )
        self._draw_bars(list(self.model.rows))
        shown = max(1, min(self.model.rowCount(), self.MAX_ROWS_SHOWN))
        header = self.table.horizontalHeader().sizeHint().height()
        scroll = self.table.horizontalScrollBar().sizeHint().height()
        rows = shown * self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(header + rows + scroll + 2 * self.table.frameWidth())

    def _draw_bars(self, rows: list[Any]) -> None:
        self.chart.clear()
        scored = [row for row in rows if row.val_accuracy_mean is not None or row.test_accuracy_mean is not None]
        self.empty.show(not scored, (self.left, self.bottom))
        if not rows:
            return
        x = list(range(1, len(rows) + 1))  # numbered as the table's rows
        for offset, (mean_of, sd_of, colour) in enumerate(
            (
                ("val_accuracy_mean", "val_accuracy_std", theme.VAL),
                ("test_accuracy_mean", "test_accuracy_std", theme.TRAIN),
            )
        ):
            means = [getattr(row, mean_of) for row in rows]
            if all(m is None for m in means):
                continue
            xs = [i + (offset - 0.5) * 0.38 for i in x]
            heights = [m if m is not None else 0.0 for m in means]
            self.chart.addItem(pg.BarGraphItem(x=xs, height=heights, width=0.36, brush=pg.mkBrush(colour)))
            sds = [getattr(row, sd_of) or 0.0 for row in rows]
            self.chart.addItem(
                pg.ErrorBarItem(
                    x=np.array(xs),
                    y=np.array(heights),
                    height=2 * np.array(sds),
                    pen=pg.mkPen(theme.TEXT, width=1.2),
                    beam=0.12,
                )
            )
        labels = [settings_label(row.settings) for row in rows]
        self.chart.setXRange(0.4, len(rows) + 0.6, padding=0)
        self.chart.setToolTip(
            "\n".join(f"{i + 1}: {label}" for i, label in enumerate(labels)) + "\norange: validation, blue: test"
        )
        self.chart.setYRange(0, 1, padding=0.02)
