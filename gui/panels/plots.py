"""Live loss and accuracy curves (pyqtgraph), cheap over runs of any length.

Events only append to NumPy buffers that grow by doubling and set a dirty flag; a 100 ms timer
redraws when something changed (≤ 10 redraws a second whatever the event rate). Curves use
clip-to-view and peak downsampling, so a million points cost what a screenful does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui import theme

REDRAW_MS = 100
AXIS_WIDTH = 52  # the loss plot's and the rate plot's left axes: their epochs line up
EMA_EPOCHS = 0.05  # smoothing time constant, in epochs


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


class MetricPlot:
    """One plot (loss or accuracy): raw and smoothed batch curve, epoch points for both splits."""

    def __init__(self, title: str, key: str, percent: bool = False) -> None:
        self.key = key
        self.percent = percent
        self.widget = pg.PlotWidget()
        self.widget.setObjectName(f"{key.title()}Plot")
        item = self.widget.getPlotItem()
        item.setTitle(f"<span style='color:{theme.TEXT}; font-size:11pt'>{title}</span>")
        # An opaque dark grid drawn by the axes (whose own line takes the same colour): blending
        # translucent grid lines cost half of every redraw in Qt's software rasteriser.
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.GRID))
            axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
        item.showGrid(x=True, y=True, alpha=1.0)
        item.setLabel("bottom", "epoch")
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.setMenuEnabled(True)
        # Loss falls and accuracy rises: their legends sit where the curves usually are not.
        legend = item.addLegend(offset=(-10, -10) if percent else (-10, 10), labelTextColor=theme.TEXT_DIM)
        legend.setBrush(pg.mkBrush(theme.SURFACE + "cc"))
        # Batch curves are drawn without antialiasing: with it, Qt's software rasteriser spends
        # 50-200 ms per redraw on them (measured by benchmarks/heartbeat.py); epoch curves keep it.
        self.batch_raw = item.plot(pen=_pen(theme.TRAIN, 1, alpha=70), antialias=False)
        self.batch_smooth = item.plot(pen=_pen(theme.TRAIN, 1.5), name="training (per batch)", antialias=False)
        self.train_epoch = item.plot(
            pen=None,
            symbol="o",
            symbolSize=7,
            symbolBrush=theme.TRAIN,
            symbolPen=pg.mkPen(theme.SURFACE),
            name="training (epoch mean)",
        )
        self.val_epoch = item.plot(
            pen=_pen(theme.VAL, 2),
            symbol="o",
            symbolSize=8,
            symbolBrush=theme.VAL,
            symbolPen=pg.mkPen(theme.SURFACE),
            name="validation",
        )
        self.best = pg.ScatterPlotItem(
            size=18,
            symbol="star",
            brush=pg.mkBrush(theme.GOOD),
            pen=pg.mkPen(theme.SURFACE),
            name="best epoch (lowest val loss)" if not percent else None,
        )
        item.addItem(self.best)
        self.best_line = pg.InfiniteLine(angle=90, pen=_pen(theme.GOOD, 1, Qt.PenStyle.DashLine, 160), movable=False)
        self.best_line.hide()
        item.addItem(self.best_line)
        self.stage_lines: list[pg.InfiniteLine] = []
        self.run_curves: list[Any] = []  # overlaid saved runs (comparison)
        if percent:
            item.setYRange(0, 1, padding=0.02)
            item.enableAutoRange(y=False)

    def set_planned_epochs(self, epochs: int) -> None:
        """Fix the x axis to the whole planned run: the curve grows into it, and the axis (whose
        tick layout is costly Python work) stays the same for the whole training."""
        item = self.widget.getPlotItem()
        item.enableAutoRange(x=False)
        item.setXRange(0, max(1, epochs) + 0.4, padding=0.01)

    def show_runs(self, runs: list[tuple[str, str, list[Any]]], seconds: bool = False) -> None:
        """Overlay saved runs: per run (label, colour, history), training dashed, validation solid;
        against epochs, or with `seconds` against the seconds of training at each epoch's end."""
        self.clear_runs()
        item = self.widget.getPlotItem()
        item.legend.clear()
        train_key, val_key = ("accuracy", "val_accuracy") if self.percent else ("loss", "val_loss")
        for label, colour, history in runs:
            timed = complete_epochs(history)
            history = [entry for entry, _ in timed]
            x = [t for _, t in timed] if seconds else [entry.epoch + 1.0 for entry in history]
            for key, pen, name in (
                (train_key, _pen(colour, 1.5, Qt.PenStyle.DashLine), None),
                (val_key, _pen(colour, 2.2), label),
            ):
                y = [_num(getattr(entry, key)) for entry in history]
                self.run_curves.append(
                    item.plot(
                        x,
                        y,
                        pen=pen,
                        name=name,
                        connect="finite",
                        symbol="o" if name else None,
                        symbolSize=5,
                        symbolBrush=colour,
                        symbolPen=pg.mkPen(colour),
                    )
                )
        item.enableAutoRange()
        if self.percent:
            item.setYRange(0, 1, padding=0.02)
            item.enableAutoRange(y=False)

    def clear_runs(self) -> None:
        """Remove overlaid runs and give the legend back to the live curves."""
        if not self.run_curves:
            return
        item = self.widget.getPlotItem()
        for curve in self.run_curves:
            item.removeItem(curve)
        self.run_curves.clear()
        item.legend.clear()
        for curve in (self.batch_smooth, self.train_epoch, self.val_epoch, self.best):
            name = curve.opts.get("name") if hasattr(curve, "opts") else None
            if name:
                item.legend.addItem(curve, name)

    def reset(self) -> None:
        self.clear_runs()
        for curve in (self.batch_raw, self.batch_smooth, self.train_epoch, self.val_epoch):
            curve.setData([], [])
        self.best.setData([], [])
        self.best_line.hide()
        for line in self.stage_lines:
            self.widget.removeItem(line)
        self.stage_lines.clear()
        item = self.widget.getPlotItem()
        item.enableAutoRange()
        if self.percent:
            item.setYRange(0, 1, padding=0.02)
            item.enableAutoRange(y=False)

    def set_x_label(self, seconds: bool) -> None:
        self.widget.getPlotItem().setLabel("bottom", "seconds of training" if seconds else "epoch")

    def add_stage(self, x: float, text: str) -> None:
        # Loss legends sit at the top, accuracy legends at the bottom: the label goes where the legend is not.
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
    """The learning rate of each epoch, in a short plot under the loss (x linked to the loss, same
    axis width so the epochs line up): shown once the rate changes during a run (a schedule,
    warm-up, a second stage). A linear axis: the schedules are linear or cosine in the rate, and
    a 118-pixel log axis had no room for its labels."""

    HEIGHT = 118

    def __init__(self) -> None:
        self.widget = pg.PlotWidget()
        self.widget.setObjectName("RatePlot")
        self.widget.setFixedHeight(self.HEIGHT)
        item = self.widget.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.GRID))
            axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
        left = item.getAxis("left")
        left.setWidth(AXIS_WIDTH)
        left.enableAutoSIPrefix(False)
        left.setStyle(maxTickLevel=0)
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


class PlotsPanel(QWidget):
    """Receives training events; owns the series; redraws on a timer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        theme.configure_pyqtgraph()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        header = QHBoxLayout()
        self.summary = QLabel("Train a model to see its learning curves here.")
        self.summary.setObjectName("PlotSummary")
        header.addWidget(self.summary, 1)
        self.axis = QComboBox()
        self.axis.setObjectName("CurvesAxis")
        self.axis.addItem("x: epochs", "epochs")
        self.axis.addItem("x: seconds", "seconds")
        self.axis.setToolTip(
            "Draw the curves against epochs, or against the seconds of training (the epochs' own time, "
            "set-up and pauses left out): runs trained with different recipes compare by wall time"
        )
        self.axis.currentIndexChanged.connect(lambda _i: self.set_x_axis(self.axis.currentData()))
        header.addWidget(self.axis, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(header)
        self.overfit = QLabel("")
        self.overfit.setObjectName("OverfitWarning")
        self.overfit.setWordWrap(True)
        self.overfit.hide()
        layout.addWidget(self.overfit)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.loss = MetricPlot("Loss", "loss")
        self.accuracy = MetricPlot("Accuracy", "accuracy", percent=True)
        self.accuracy.widget.setXLink(self.loss.widget)
        self.rate = RatePlot()
        self.rate.widget.setXLink(self.loss.widget)
        self.loss.widget.getPlotItem().getAxis("left").setWidth(AXIS_WIDTH)
        loss_column = QVBoxLayout()
        loss_column.setSpacing(4)
        loss_column.addWidget(self.loss.widget, 1)
        loss_column.addWidget(self.rate.widget)
        row.addLayout(loss_column, 1)
        row.addWidget(self.accuracy.widget, 1)
        layout.addLayout(row, 1)
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
        self.epochs: list[dict[str, float]] = []
        self.x_axis = "epochs"  # or "seconds"
        self._planned = 0
        self._stages: list[tuple[float, float, str]] = []  # (epoch x, seconds x, text)
        self._comparison: list[tuple[str, str, list[Any]]] | None = None  # overlaid saved runs
        self._ema = {"loss": _Ema(), "acc": _Ema()}
        self._dirty = False
        self._drawn: dict[int, int] = {}  # id(curve) → series version last drawn
        self.redraws = 0
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw)
        self.timer.start()

    # --- events ---------------------------------------------------------------------------------
    def reset(self, message: str = "") -> None:
        for s in self.series.values():
            s.clear()
        for e in self._ema.values():
            e.reset()
        self._drawn.clear()
        self.epochs.clear()
        self._stages.clear()
        self._comparison = None
        self._planned = 0
        self.loss.reset()
        self.accuracy.reset()
        self.overfit.hide()
        self.summary.setText(message)
        self._dirty = True

    def add_batch(
        self, epoch: int, step: int, steps: int, loss: float, accuracy: float, seconds: float = math.nan
    ) -> None:
        """One batch event; `seconds`: of training so far (the seconds axis' x)."""
        x = epoch + (step + 1) / max(1, steps)
        if math.isfinite(loss):
            self.series["loss_raw"].append(x, loss, seconds)
            self.series["loss_smooth"].append(x, self._ema["loss"](x, loss), seconds)
        if math.isfinite(accuracy):
            self.series["acc_raw"].append(x, accuracy, seconds)
            self.series["acc_smooth"].append(x, self._ema["acc"](x, accuracy), seconds)
        self._dirty = True

    def add_epoch(
        self,
        epoch: int,
        loss: float,
        accuracy: float,
        val_loss: float,
        val_accuracy: float,
        learning_rate: float | None = None,
        elapsed_seconds: float | None = None,
    ) -> None:
        """One epoch's figures; `elapsed_seconds`: of training at its end (the seconds axis' x)."""
        x = epoch + 1.0
        t = float(elapsed_seconds) if _finite(elapsed_seconds) else math.nan
        self.epochs.append(
            {
                "epoch": epoch,
                "loss": loss,
                "accuracy": accuracy,
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
                "t": t,
            }
        )
        rate = learning_rate if _finite(learning_rate) and learning_rate > 0 else None
        for key, value in (
            ("loss_epoch", loss),
            ("acc_epoch", accuracy),
            ("val_loss", val_loss),
            ("val_acc", val_accuracy),
            ("rate", rate),
        ):
            if value is not None and math.isfinite(value):
                self.series[key].append(x, value, t)
        self._check_overfitting()
        self._dirty = True

    def set_planned_epochs(self, epochs: int) -> None:
        self._planned = epochs
        if self.x_axis == "epochs":
            for plot in (self.loss, self.accuracy):
                plot.set_planned_epochs(epochs)

    def add_stage(self, epoch: int, description: str) -> None:
        t = self.epochs[-1]["t"] if self.epochs else 0.0
        self._stages.append((float(epoch), t, description.split(":")[0]))
        for plot in (self.loss, self.accuracy):
            plot.add_stage(self._stage_x(self._stages[-1]), self._stages[-1][2])

    def _stage_x(self, stage: tuple[float, float, str]) -> float:
        return stage[1] if self.x_axis == "seconds" else stage[0]

    def set_x_axis(self, axis: str) -> None:
        """Draw everything against "epochs" or "seconds" (of training): the live curves, a saved run
        and overlaid runs alike. Runs saved before seconds were recorded fall back on the sum of
        their epochs' durations."""
        if axis == self.x_axis or axis not in ("epochs", "seconds"):
            return
        self.x_axis = axis
        with QSignalBlocker(self.axis):
            self.axis.setCurrentIndex(self.axis.findData(axis))
        seconds = axis == "seconds"
        for plot in (self.loss, self.accuracy):
            plot.set_x_label(seconds)
            for line in plot.stage_lines:
                plot.widget.removeItem(line)
            plot.stage_lines.clear()
            for stage in self._stages:
                plot.add_stage(self._stage_x(stage), stage[2])
            item = plot.widget.getPlotItem()
            if seconds or not self._planned:
                item.enableAutoRange(x=True)
            else:
                plot.set_planned_epochs(self._planned)
        if self._comparison is not None:
            for plot in (self.loss, self.accuracy):
                plot.show_runs(self._comparison, seconds)
        self._drawn.clear()
        self._dirty = True
        self._redraw()

    def show_comparison(self, runs: list[tuple[str, list[Any]]], title: str = "") -> None:
        """Overlay several saved runs (label, history), one colour each: dashed training, solid
        validation, against the chosen x axis (epochs or seconds of training)."""
        self.reset(title)
        coloured = [
            (label, theme.RUN_COLORS[i % len(theme.RUN_COLORS)], history) for i, (label, history) in enumerate(runs)
        ]
        self._comparison = coloured
        for plot in (self.loss, self.accuracy):
            plot.show_runs(coloured, self.x_axis == "seconds")

    def show_accuracy(self, shown: bool, why: str = "") -> None:
        """Show or hide the accuracy plot (an autoencoder has no accuracy: the loss plot alone
        shows its reconstruction error, titled so)."""
        self.accuracy.widget.setVisible(shown)
        title = "Loss" if shown else "Reconstruction loss (mean squared error)"
        self.loss.widget.getPlotItem().setTitle(f"<span style='color:{theme.TEXT}; font-size:11pt'>{title}</span>")
        self.loss.widget.setToolTip("" if shown else f"Accuracy: n/a — {why}")

    def set_summary(self, text: str, tooltip: str = "") -> None:
        """The line above the plots: what trains, or the last epoch's figures."""
        self.summary.setText(text)
        self.summary.setToolTip(tooltip)

    def load_history(self, history: list[Any], title: str = "") -> None:
        """Show a saved run's per-epoch curves (`engine.runs.folders.EpochRecord`s; runs keep no batch curve)."""
        self.reset(title)
        self.add_history(history)

    def add_history(self, history: list[Any]) -> None:
        """Append saved epochs (`EpochRecord`s) to the curves: a run that goes on from a checkpoint
        draws the epochs before it, and the live ones follow."""
        stage = 1
        for entry, seconds in complete_epochs(history):
            if entry.stage != stage:
                stage = entry.stage
                self.add_stage(entry.epoch, f"stage {stage}")
            self.add_epoch(
                entry.epoch,
                *(_num(v) for v in (entry.loss, entry.accuracy, entry.val_loss, entry.val_accuracy)),
                learning_rate=getattr(entry, "learning_rate", None),
                elapsed_seconds=seconds,
            )
        self._redraw()

    # --- analysis -------------------------------------------------------------------------------
    def best_epoch(self) -> int | None:
        """Index (in `epochs`) of the lowest validation loss."""
        finite = [(e["val_loss"], i) for i, e in enumerate(self.epochs) if _finite(e["val_loss"])]
        return min(finite)[1] if finite else None

    def overfitting_since(self) -> int | None:
        """First epoch of a streak of ≥ 2 epochs where val loss rose while training loss fell."""
        streak = 0
        start = None
        for i in range(1, len(self.epochs)):
            a, b = self.epochs[i - 1], self.epochs[i]
            if (
                all(_finite(v) for v in (a["val_loss"], b["val_loss"], a["loss"], b["loss"]))
                and b["val_loss"] > a["val_loss"]
                and b["loss"] < a["loss"]
            ):
                streak += 1
                start = i if streak == 1 else start
            else:
                streak, start = 0, None
        return start if streak >= 2 else None

    def _check_overfitting(self) -> None:
        since = self.overfitting_since()
        if since is None:
            self.overfit.hide()
            return
        self.overfit.setText(
            f"⚠ Overfitting: since epoch {since}, validation loss keeps rising while training loss falls — the model "
            "is memorising the training images. Try more dropout, augmentation, fewer epochs or early stopping."
        )
        self.overfit.show()

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
        rate = s["rate"]
        if self._drawn.get(id(self.rate)) != rate.version:
            self._drawn[id(self.rate)] = rate.version
            self.rate.show_rates(*self._xy(rate))
        if self._drawn.get(id(self.epochs)) != len(self.epochs):  # the best epoch moves only at epoch ends
            self._drawn[id(self.epochs)] = len(self.epochs)
            self._draw_best()

    def _xy(self, series: GrowingSeries) -> tuple[np.ndarray, np.ndarray]:
        """The series against the chosen axis (points without a time are left out of the seconds axis)."""
        if self.x_axis != "seconds":
            return series.x, series.y
        known = np.isfinite(series.t)
        return series.t[known], series.y[known]

    def _draw_best(self) -> None:
        best = self.best_epoch()
        if best is None:
            for plot in (self.loss, self.accuracy):
                plot.best.setData([], [])
                plot.best_line.hide()
            return
        entry = self.epochs[best]
        x = entry["t"] if self.x_axis == "seconds" else entry["epoch"] + 1.0
        if not math.isfinite(x):
            for plot in (self.loss, self.accuracy):
                plot.best.setData([], [])
                plot.best_line.hide()
            return
        self.loss.best.setData([x], [entry["val_loss"]])
        self.accuracy.best.setData([x], [entry["val_accuracy"]] if _finite(entry["val_accuracy"]) else [])
        for plot in (self.loss, self.accuracy):
            plot.best_line.setPos(x)
            plot.best_line.show()
        self.loss.best.setToolTip(f"best epoch {entry['epoch'] + 1}: val loss {entry['val_loss']:.4f}")

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
    return isinstance(value, (int, float)) and math.isfinite(value)


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan
