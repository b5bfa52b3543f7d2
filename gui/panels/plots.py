"""Live loss and accuracy curves (pyqtgraph), cheap over runs of any length.

The panel draws `session.curves` (gui/controllers/curves.py works out the best epoch and what the
curves say) and the per-batch points streamed to it. Points only append to NumPy buffers that
grow by doubling and set a dirty flag; a 100 ms timer redraws when something changed (≤ 10
redraws a second whatever the event rate). Curves use clip-to-view and peak downsampling, so a
million points cost what a screenful does.

What a person reads stays readable: the epoch axis has whole epochs only, the value axes always
show their numbers (their width follows the labels), the legend is a line above the plots (never
over the curves), and an empty plot says what will appear in it instead of showing empty ticks.
The x axis is epochs or, as a person chooses above the curves, seconds of training (the epochs'
own time: set-up and pauses left out), so runs of different recipes compare by wall time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui import theme
from gui.session import CurvesState
from gui.widgets import ElidedLabel, set_state

REDRAW_MS = 100
EMA_EPOCHS = 0.05  # smoothing time constant, in epochs
TICK_PIXELS = 42  # at least this much room per epoch label
EPOCH_STEPS = (1, 2, 5)  # epoch ticks every 1, 2, 5, 10, 20, 50... epochs


class GrowingSeries:
    """An (x, y) series in NumPy arrays that double when full: O(1) amortised appends. Each point
    also has a time `t` (seconds of training; NaN when unknown): the x of the seconds axis."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, np.float64)
        self._y = np.empty(capacity, np.float64)
        self._t = np.empty(capacity, np.float64)
        self.size = 0
        self.version = 0  # bumped on every change: redraws skip curves whose data did not change

    def append(self, x: float, y: float, t: float = math.nan) -> None:
        if self.size == len(self._x):
            self._x = np.resize(self._x, 2 * len(self._x))
            self._y = np.resize(self._y, 2 * len(self._y))
            self._t = np.resize(self._t, 2 * len(self._t))
        self._x[self.size] = x
        self._y[self.size] = y
        self._t[self.size] = t
        self.size += 1
        self.version += 1

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def t(self) -> np.ndarray:
        return self._t[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def clear(self) -> None:
        self.size = 0
        self.version += 1

    def __len__(self) -> int:
        return self.size


class _Ema:
    """Exponential moving average over the epoch axis (not over events).

    Batch events arrive at most ~10 per second, so one epoch may bring 2 points or 200; decaying
    by the distance along the x axis (time constant `EMA_EPOCHS` of an epoch) smooths the same
    amount either way instead of lagging far behind when points are sparse.
    """

    def __init__(self, time_constant: float = EMA_EPOCHS) -> None:
        self.time_constant = time_constant
        self.reset()

    def reset(self) -> None:
        self.value: float | None = None
        self.x = 0.0

    def __call__(self, x: float, y: float) -> float:
        if self.value is None:
            self.value = y
        else:
            keep = math.exp(-max(0.0, x - self.x) / self.time_constant)
            self.value = keep * self.value + (1 - keep) * y
        self.x = x
        return self.value


def _pen(color: str, width: float = 2.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine, alpha: int = 255) -> Any:
    c = pg.mkColor(color)
    c.setAlpha(alpha)
    return pg.mkPen(c, width=width, style=style)


class EpochAxis(pg.AxisItem):
    """An epoch axis: ticks on whole epochs only (never 0.5, 1.5), as many as fit; pyqtgraph's own
    ticks while it counts seconds (`epochs` False)."""

    epochs = True

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        if not self.epochs:
            return super().tickValues(minVal, maxVal, size)
        low, high = sorted((minVal, maxVal))
        first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
        if last < first:
            return []
        room = max(1, int(size // TICK_PIXELS))
        spacing = next(
            step * 10**power
            for power in range(0, 12)
            for step in EPOCH_STEPS
            if (last - first) / (step * 10**power) < room
        )
        start = math.ceil(first / spacing) * spacing
        return [(float(spacing), [float(v) for v in range(int(start), last + 1, int(spacing))])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.epochs:
            return super().tickStrings(values, scale, spacing)
        return [str(round(v)) for v in values]


def _style_axis(axis: pg.AxisItem) -> None:
    axis.setPen(pg.mkPen(theme.GRID))
    axis.setTextPen(pg.mkPen(theme.TEXT_DIM))


def _value_axis() -> pg.AxisItem:
    """A value axis whose numbers are always drawn: plain numbers (no SI prefix to miss), and a
    width that grows with the labels (a tiny loss range needs more digits)."""
    axis = pg.AxisItem("left")
    axis.enableAutoSIPrefix(False)
    _style_axis(axis)
    return axis


class EmptyNote(QObject):
    """A line of text centred over an empty plot: what will appear there (the plot's axes show no
    numbers meanwhile)."""

    def __init__(self, plot: pg.PlotWidget, text: str) -> None:
        super().__init__(plot)
        self.plot = plot
        self.label = QLabel(text, plot)
        self.label.setObjectName("PlotEmpty")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        plot.installEventFilter(self)
        self._place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        self.label.setGeometry(self.plot.rect().adjusted(24, 24, -24, -24))

    def show(self, empty: bool, axes: tuple[pg.AxisItem, ...] = ()) -> None:
        self.label.setVisible(empty)
        for axis in axes:
            axis.setStyle(showValues=not empty)


class MetricPlot:
    """One plot (loss or accuracy): raw and smoothed batch curve, epoch points for both splits, the
    best epoch, stage marks; or, for a comparison, several saved runs overlaid."""

    def __init__(self, title: str, key: str, percent: bool = False, empty: str = "") -> None:
        self.key = key
        self.percent = percent
        self.left = _value_axis()
        self.bottom = EpochAxis("bottom")
        _style_axis(self.bottom)
        self.widget = pg.PlotWidget(axisItems={"left": self.left, "bottom": self.bottom})
        self.widget.setObjectName(f"{key.title()}Plot")
        self.widget.setMinimumSize(160, 160)
        item = self.widget.getPlotItem()
        self.set_title(title)
        # An opaque dark grid drawn by the axes (whose own line takes the same colour): blending
        # translucent grid lines cost half of every redraw in Qt's software rasteriser.
        item.showGrid(x=True, y=True, alpha=1.0)
        item.setLabel("bottom", "epoch")
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setMenuEnabled(True)
        # Batch curves are drawn without antialiasing: with it, Qt's software rasteriser spends
        # 50-200 ms per redraw on them (measured by benchmarks/heartbeat.py); epoch curves keep it.
        self.batch_raw = item.plot(pen=_pen(theme.TRAIN, 1, alpha=70), antialias=False)
        self.batch_smooth = item.plot(pen=_pen(theme.TRAIN, 1.5), antialias=False)
        self.train_epoch = item.plot(
            pen=None, symbol="o", symbolSize=7, symbolBrush=theme.TRAIN, symbolPen=pg.mkPen(theme.SURFACE)
        )
        self.val_epoch = item.plot(
            pen=_pen(theme.VAL, 2), symbol="o", symbolSize=8, symbolBrush=theme.VAL, symbolPen=pg.mkPen(theme.SURFACE)
        )
        self.best = pg.ScatterPlotItem(
            size=18, symbol="star", brush=pg.mkBrush(theme.GOOD), pen=pg.mkPen(theme.SURFACE)
        )
        item.addItem(self.best)
        self.best_line = pg.InfiniteLine(angle=90, pen=_pen(theme.GOOD, 1, Qt.PenStyle.DashLine, 160), movable=False)
        self.best_line.hide()
        item.addItem(self.best_line)
        self.stage_lines: list[pg.InfiniteLine] = []
        self.run_curves: list[Any] = []  # overlaid saved runs (comparison)
        self.note = EmptyNote(self.widget, empty)
        self.empty = self.note.label
        self._fix_y()
        self.set_empty(True)

    def set_title(self, title: str) -> None:
        self.widget.getPlotItem().setTitle(f"<span style='color:{theme.TEXT}; font-size:11pt'>{title}</span>")

    def set_empty(self, empty: bool) -> None:
        """An empty plot says what will appear there; its axes show no numbers until there are some."""
        self.note.show(empty, (self.left, self.bottom))

    def set_planned_epochs(self, epochs: int) -> None:
        """Fix the x axis to the whole planned run: the curve grows into it, and the axis (whose
        tick layout is costly Python work) stays the same for the whole training (0: follow the data)."""
        item = self.widget.getPlotItem()
        if epochs > 0:
            item.enableAutoRange(x=False)
            item.setXRange(0, epochs + 0.4, padding=0.01)
        else:
            item.enableAutoRange(x=True)

    def show_runs(self, runs: list[tuple[str, str, list[Any]]], seconds: bool = False) -> None:
        """Overlay saved runs: per run (label, colour, history), training dashed, validation solid
        (the table beside them is their legend); against epochs, or with `seconds` against the
        seconds of training at each epoch's end."""
        self.clear_runs()
        self.set_x_label(seconds)
        item = self.widget.getPlotItem()
        train_key, val_key = ("accuracy", "val_accuracy") if self.percent else ("loss", "val_loss")
        for _label, colour, history in runs:
            timed = complete_epochs(history)
            history = [entry for entry, _ in timed]
            x = [t for _, t in timed] if seconds else [entry.epoch + 1.0 for entry in history]
            for key, pen, symbol in (
                (train_key, _pen(colour, 1.5, Qt.PenStyle.DashLine), None),
                (val_key, _pen(colour, 2.2), "o"),
            ):
                y = [_num(getattr(entry, key)) for entry in history]
                self.run_curves.append(
                    item.plot(
                        x,
                        y,
                        pen=pen,
                        connect="finite",
                        symbol=symbol,
                        symbolSize=5,
                        symbolBrush=colour,
                        symbolPen=pg.mkPen(colour),
                    )
                )
        self.set_empty(not any(history for _, _, history in runs))
        last = max((entry.epoch + 1 for _, _, history in runs for entry in history), default=1)
        item.enableAutoRange()
        self.set_planned_epochs(0 if seconds else last)  # every run whole, whether or not the view is shown yet
        self._fix_y()

    def set_x_label(self, seconds: bool) -> None:
        """Epochs (whole-epoch ticks) or seconds of training along the x axis."""
        self.bottom.epochs = not seconds
        self.widget.getPlotItem().setLabel("bottom", "seconds of training" if seconds else "epoch")

    def clear_runs(self) -> None:
        item = self.widget.getPlotItem()
        for curve in self.run_curves:
            item.removeItem(curve)
        self.run_curves.clear()

    def reset(self) -> None:
        self.clear_runs()
        for curve in (self.batch_raw, self.batch_smooth, self.train_epoch, self.val_epoch):
            curve.setData([], [])
        self.best.setData([], [])
        self.best_line.hide()
        for line in self.stage_lines:
            self.widget.removeItem(line)
        self.stage_lines.clear()
        self.widget.getPlotItem().enableAutoRange()
        self._fix_y()
        self.set_empty(True)

    def _fix_y(self) -> None:
        if self.percent:
            item = self.widget.getPlotItem()
            item.setYRange(0, 1, padding=0.02)
            item.enableAutoRange(y=False)

    def add_stage(self, x: float, text: str) -> None:
        line = pg.InfiniteLine(
            pos=x,
            angle=90,
            pen=_pen(theme.TEXT, 1, Qt.PenStyle.DashLine, 150),
            movable=False,
            label=text,
            labelOpts={
                "color": theme.TEXT,
                "position": 0.3 if not self.percent else 0.7,
                "rotateAxis": (1, 0),
                "fill": pg.mkBrush(theme.SURFACE_ALT + "e0"),
            },
        )
        self.widget.addItem(line)
        self.stage_lines.append(line)


class RatePlot:
    """The learning rate of each epoch, in a short plot under the loss (x linked to the loss, the
    same axis width so the epochs line up): shown once the rate changes during a run (a schedule,
    warm-up, a second stage). A linear axis: the schedules are linear or cosine in the rate."""

    HEIGHT = 110

    def __init__(self) -> None:
        self.left = _value_axis()
        self.left.setStyle(maxTickLevel=0)
        self.bottom = EpochAxis("bottom")
        _style_axis(self.bottom)
        self.widget = pg.PlotWidget(axisItems={"left": self.left, "bottom": self.bottom})
        self.widget.setObjectName("RatePlot")
        self.widget.setFixedHeight(self.HEIGHT)
        item = self.widget.getPlotItem()
        item.showGrid(x=True, y=True, alpha=1.0)
        item.setTitle(f"<span style='color:{theme.TEXT_DIM}; font-size:9pt'>learning rate per epoch</span>", size="9pt")
        item.setMenuEnabled(False)
        item.hideButtons()
        self.curve = item.plot(
            pen=_pen(theme.GOOD, 1.5),
            symbol="o",
            symbolSize=5,
            symbolBrush=theme.GOOD,
            symbolPen=pg.mkPen(theme.GOOD),
            stepMode=None,
        )
        self.widget.hide()

    def show_rates(self, x: np.ndarray, rates: np.ndarray) -> None:
        self.curve.setData(x, rates)
        varies = len(rates) > 1 and float(np.nanmax(rates)) > float(np.nanmin(rates)) * (1 + 1e-9)
        self.widget.setVisible(varies)
        if varies:
            self.widget.setToolTip(
                f"Learning rate per epoch: {float(np.nanmin(rates)):.2e} to {float(np.nanmax(rates)):.2e}"
            )


LEGEND = (
    f"<span style='color:{theme.TRAIN}'>━</span> training (batch) &nbsp; "
    f"<span style='color:{theme.TRAIN}'>●</span> training (epoch) &nbsp; "
    f"<span style='color:{theme.VAL}'>●━</span> validation &nbsp; "
    f"<span style='color:{theme.GOOD}'>★</span> best"
)
LEGEND_TIP = (
    "Thin blue: the loss (or accuracy) of each batch, smoothed; blue dots: the training figures of each epoch; "
    "orange: the validation figures of each epoch; green star: the epoch with the lowest validation loss"
)
EMPTY_LOSS = "The loss of each batch and epoch appears here while a model trains."
EMPTY_ACCURACY = "The share of images the model gets right, per batch and per epoch, appears here."


class XAxisChoice(QComboBox):
    """Draw curves against epochs or against seconds of training."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CurvesAxis")
        self.addItem("x: epochs", "epochs")
        self.addItem("x: seconds", "seconds")
        self.setToolTip(
            "Draw the curves against epochs, or against the seconds of training (the epochs' own time, "
            "set-up and pauses left out): runs trained with different recipes compare by wall time"
        )

    def choose(self, axis: str) -> None:
        """Show `axis` chosen without announcing it."""
        with QSignalBlocker(self):
            self.setCurrentIndex(max(0, self.findData(axis)))


class PlotsPanel(QWidget):
    """Draws `session.curves` and the per-batch points streamed to it; redraws on a timer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CurvesView")
        theme.configure_pyqtgraph()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.setSpacing(6)
        self.title = ElidedLabel("")
        self.title.setObjectName("PlotTitle")
        top.addWidget(self.title, 1)
        # Controls about the curves go here, right-aligned (a person's choice of x axis, zoom).
        self.toolbar = QHBoxLayout()
        self.toolbar.setSpacing(4)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setObjectName("FlatButton")
        self.fit_button.setToolTip("Show the whole curves again (after zooming with the wheel or a drag)")
        self.fit_button.clicked.connect(self.fit)
        self.axis = XAxisChoice()
        self.axis.currentIndexChanged.connect(lambda _i: self.set_x_axis(self.axis.currentData()))
        self.toolbar.addWidget(self.axis)
        self.toolbar.addWidget(self.fit_button)
        top.addLayout(self.toolbar)
        layout.addLayout(top)
        self.summary = ElidedLabel("")
        self.summary.setObjectName("PlotSummary")
        layout.addWidget(self.summary)
        self.note = ElidedLabel("")
        self.note.setObjectName("CurveNote")
        self.note.hide()
        layout.addWidget(self.note)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.loss = MetricPlot("Loss", "loss", empty=EMPTY_LOSS)
        self.accuracy = MetricPlot("Accuracy", "accuracy", percent=True, empty=EMPTY_ACCURACY)
        self.accuracy.widget.setXLink(self.loss.widget)
        self.rate = RatePlot()
        self.rate.widget.setXLink(self.loss.widget)
        loss_column = QVBoxLayout()
        loss_column.setSpacing(4)
        loss_column.addWidget(self.loss.widget, 1)
        loss_column.addWidget(self.rate.widget)
        row.addLayout(loss_column, 1)
        row.addWidget(self.accuracy.widget, 1)
        layout.addLayout(row, 1)
        self.legend = QLabel(LEGEND)
        self.legend.setObjectName("Legend")
        self.legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.legend.setWordWrap(True)
        self.legend.setToolTip(LEGEND_TIP)
        layout.addWidget(self.legend)
        self.series = {
            name: GrowingSeries()
            for name in (
                "loss_raw",
                "loss_smooth",
                "acc_raw",
                "acc_smooth",
                "loss_epoch",
                "acc_epoch",
                "val_loss",
                "val_acc",
                "rate",
            )
        }
        self.state = CurvesState(generation=-1)
        self.x_axis = "epochs"  # or "seconds"
        self._seconds: dict[int, float] = {}  # epoch (0-based) → seconds of training at its end
        self._ema = {"loss": _Ema(), "acc": _Ema()}
        self._dirty = False
        self._drawn: dict[int, int] = {}  # id(curve) → series version last drawn
        self._stages_drawn = 0
        self._best_drawn: tuple[int, int | None] | None = None
        self.redraws = 0
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw)
        self.timer.start()

    # --- the curves controller's view ---------------------------------------------------------------
    def show_curves(self, state: CurvesState) -> None:
        """Draw `state`: from scratch for a new set of curves, else only what is new."""
        if state.generation != self.state.generation:
            self._start_over(state)
        drawn = len(self.state.epochs) if state.generation == self.state.generation else 0
        for entry in state.epochs[drawn:]:
            self._add_epoch(entry)
        for x, text in state.stages[self._stages_drawn :]:
            for plot in (self.loss, self.accuracy):
                plot.add_stage(self._stage_x(x), text)
        self._stages_drawn = len(state.stages)
        self.state = state
        self.title.set_text(state.title or state.placeholder, state.tooltip)
        self.summary.set_text(state.summary)
        self._show_note(state.diagnosis)
        self._dirty = True

    def add_batch(
        self, epoch: int, step: int, steps: int, loss: float, accuracy: float, seconds: float = math.nan
    ) -> None:
        """One batch's figures; `seconds`: of training so far (the seconds axis' x)."""
        x = epoch + (step + 1) / max(1, steps)
        if math.isfinite(loss):
            self.series["loss_raw"].append(x, loss, seconds)
            self.series["loss_smooth"].append(x, self._ema["loss"](x, loss), seconds)
        if math.isfinite(accuracy):
            self.series["acc_raw"].append(x, accuracy, seconds)
            self.series["acc_smooth"].append(x, self._ema["acc"](x, accuracy), seconds)
        self._dirty = True

    def set_x_axis(self, axis: str) -> None:
        """Draw the curves against "epochs" or "seconds" (of training). Runs saved before seconds
        were recorded fall back on the sum of their epochs' durations."""
        if axis == self.x_axis or axis not in ("epochs", "seconds"):
            return
        self.x_axis = axis
        self.axis.choose(axis)
        seconds = axis == "seconds"
        for plot in (self.loss, self.accuracy):
            plot.set_x_label(seconds)
            for line in plot.stage_lines:
                plot.widget.removeItem(line)
            plot.stage_lines.clear()
            for x, text in self.state.stages:
                plot.add_stage(self._stage_x(x), text)
            plot.set_planned_epochs(0 if seconds else self.state.planned)
        self.rate.bottom.epochs = not seconds
        self._drawn.clear()
        self._best_drawn = None
        self._dirty = True
        self._redraw()

    def show_accuracy(self, shown: bool, why: str = "") -> None:
        """Show or hide the accuracy plot (an autoencoder has no accuracy: the loss plot alone
        shows its reconstruction error, titled so)."""
        self.accuracy.widget.setVisible(shown)
        self.loss.set_title("Loss" if shown else "Reconstruction loss (mean squared error)")
        self.loss.widget.setToolTip("" if shown else f"Accuracy: n/a — {why}")

    def fit(self) -> None:
        """Undo a zoom: the whole planned run (or the data) again."""
        for plot in (self.loss, self.accuracy):
            plot.widget.getPlotItem().enableAutoRange()
            plot._fix_y()
            plot.set_planned_epochs(self.state.planned if self.x_axis == "epochs" else 0)

    # --- internals ------------------------------------------------------------------------------
    def _start_over(self, state: CurvesState) -> None:
        for s in self.series.values():
            s.clear()
        for e in self._ema.values():
            e.reset()
        self._drawn.clear()
        self._seconds.clear()
        self._stages_drawn = 0
        for plot in (self.loss, self.accuracy):
            plot.reset()
            plot.set_planned_epochs(state.planned if self.x_axis == "epochs" else 0)

    def _add_epoch(self, entry: Any) -> None:
        x = entry.epoch + 1.0
        before = self._seconds.get(entry.epoch - 1, 0.0)
        recorded = getattr(entry, "elapsed_seconds", None)
        t = float(recorded) if _finite(recorded) else before + float(getattr(entry, "seconds", 0.0) or 0.0)
        self._seconds[entry.epoch] = t
        if getattr(entry, "partial", False):  # cut short by Stop: no point on the curves, its time still counts
            return
        rate = entry.learning_rate if _finite(entry.learning_rate) and entry.learning_rate > 0 else None
        for key, value in (
            ("loss_epoch", entry.loss),
            ("acc_epoch", entry.accuracy),
            ("val_loss", entry.val_loss),
            ("val_acc", entry.val_accuracy),
            ("rate", rate),
        ):
            if _finite(value):
                self.series[key].append(x, value, t)

    def _stage_x(self, epoch: float) -> float:
        """Where a stage that begins at `epoch` (0-based) is marked: that epoch, or the seconds of
        training when the epoch before it ended."""
        if self.x_axis != "seconds":
            return float(epoch)
        return self._seconds.get(int(epoch) - 1, 0.0)

    def _show_note(self, diagnosis: Any) -> None:
        if diagnosis is None:
            self.note.hide()
            return
        self.note.set_text(f"⚠ {diagnosis.text} {diagnosis.advice}", f"{diagnosis.text}\n{diagnosis.advice}")
        set_state(self.note, "error" if diagnosis.kind == "not_learning" else "warning")
        self.note.show()

    # --- drawing --------------------------------------------------------------------------------
    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        s = self.series
        for curve, key in (
            (self.loss.batch_raw, "loss_raw"),
            (self.loss.batch_smooth, "loss_smooth"),
            (self.loss.train_epoch, "loss_epoch"),
            (self.loss.val_epoch, "val_loss"),
            (self.accuracy.batch_raw, "acc_raw"),
            (self.accuracy.batch_smooth, "acc_smooth"),
            (self.accuracy.train_epoch, "acc_epoch"),
            (self.accuracy.val_epoch, "val_acc"),
        ):
            series = s[key]
            if self._drawn.get(id(curve)) != series.version:
                self._drawn[id(curve)] = series.version
                curve.setData(*self._xy(series))
        self.loss.set_empty(not (len(s["loss_raw"]) or len(s["loss_epoch"]) or len(s["val_loss"])))
        self.accuracy.set_empty(not (len(s["acc_raw"]) or len(s["acc_epoch"]) or len(s["val_acc"])))
        rate = s["rate"]
        if self._drawn.get(id(self.rate)) != rate.version:
            self._drawn[id(self.rate)] = rate.version
            self.rate.show_rates(*self._xy(rate))
        if self.rate.left.width() != self.loss.left.width():  # the epochs of both plots line up
            self.rate.left.setWidth(self.loss.left.width())
        best = (self.state.generation, self.state.best)
        if best != self._best_drawn:  # the best epoch moves only at epoch ends
            self._best_drawn = best
            self._draw_best()

    def _draw_best(self) -> None:
        entry = next((e for e in self.state.epochs if e.epoch == self.state.best), None)
        if entry is None:
            for plot in (self.loss, self.accuracy):
                plot.best.setData([], [])
                plot.best_line.hide()
            return
        x = self._seconds.get(entry.epoch, math.nan) if self.x_axis == "seconds" else entry.epoch + 1.0
        if not math.isfinite(x):
            for plot in (self.loss, self.accuracy):
                plot.best.setData([], [])
                plot.best_line.hide()
            return
        self.loss.best.setData([x], [entry.val_loss])
        self.accuracy.best.setData([x], [entry.val_accuracy] if _finite(entry.val_accuracy) else [])
        for plot in (self.loss, self.accuracy):
            plot.best_line.setPos(x)
            plot.best_line.show()
        self.loss.best.setToolTip(f"best epoch {entry.epoch + 1}: val loss {entry.val_loss:.4f}")

    def _xy(self, series: GrowingSeries) -> tuple[np.ndarray, np.ndarray]:
        """The series against the chosen axis (points without a time are left out of the seconds axis)."""
        if self.x_axis != "seconds":
            return series.x, series.y
        known = np.isfinite(series.t)
        return series.t[known], series.y[known]

    def point_counts(self) -> dict[str, int]:
        """How many points each series holds (tests, diagnostics)."""
        return {k: len(v) for k, v in self.series.items()}


def complete_epochs(history: list[Any]) -> list[tuple[Any, float]]:
    """(epoch, seconds of training at its end) of the epochs that ran to their end: one cut short
    by Stop is no point on an epoch curve (its seconds still count for the epochs after it)."""
    timed = zip(history, history_seconds(history), strict=True)
    return [(entry, seconds) for entry, seconds in timed if not getattr(entry, "partial", False)]


def history_seconds(history: list[Any]) -> list[float]:
    """The seconds of training at each epoch's end: `elapsed_seconds`, or for runs saved before it
    was recorded the running sum of the epochs' durations."""
    total, out = 0.0, []
    for entry in history:
        recorded = getattr(entry, "elapsed_seconds", None)
        total = float(recorded) if _finite(recorded) else total + float(getattr(entry, "seconds", 0.0) or 0.0)
        out.append(total)
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan
