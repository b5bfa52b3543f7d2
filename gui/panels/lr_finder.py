"""The learning-rate finder in the Training tab: a button, the loss against the rate (log axis) as
the sweep goes, the suggested rate marked, and one click to use it (the LR finder controller's view)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from gui import theme
from gui.widgets import hint

TIP = (
    "Leslie Smith's range test: a copy of the model trains for a few batches while the learning rate grows from "
    "1e-7 to 10; the loss falls, bottoms out, then explodes. The suggestion is a tenth of the rate at the lowest "
    "(smoothed) loss. Nothing is saved and the model you train is not touched."
)


class LrFinderPanel(QGroupBox):
    find_requested = Signal()
    use_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Learning-rate finder", parent)
        self.setToolTip(TIP)
        layout = QVBoxLayout(self)
        self.note = hint("Sweep the rate over a few batches and pick one where the loss falls fastest.")
        self.note.setToolTip(TIP)
        layout.addWidget(self.note)
        theme.configure_pyqtgraph()
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("LrFinderPlot")
        self.plot.setFixedHeight(170)
        item = self.plot.getPlotItem()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.GRID))
            axis.setTextPen(pg.mkPen(theme.TEXT_DIM))
        item.getAxis("bottom").enableAutoSIPrefix(False)  # 1e-05 … 1, not "× 0.001"
        item.showGrid(x=True, y=True, alpha=1.0)
        item.setLogMode(x=True, y=False)
        item.setLabel("bottom", "learning rate")
        item.setLabel("left", "loss")
        item.setMenuEnabled(False)
        item.hideButtons()
        self.curve = item.plot(pen=pg.mkPen(theme.TRAIN, width=2))
        self.marker = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(theme.GOOD, width=1.5, style=Qt.PenStyle.DashLine),
            label="",
            labelOpts={"color": theme.GOOD, "position": 0.85, "fill": pg.mkBrush(theme.SURFACE_ALT + "e0")},
        )
        self.marker.hide()
        item.addItem(self.marker)
        self.plot.hide()
        layout.addWidget(self.plot)
        buttons = QHBoxLayout()
        self.find = QPushButton("Find a learning rate")
        self.find.setToolTip(TIP)
        self.find.clicked.connect(self.find_requested)
        self.use = QPushButton("Use it")
        self.use.setToolTip("Set the learning rate above to the suggested one")
        self.use.clicked.connect(lambda: self.suggested is not None and self.use_requested.emit(self.suggested))
        self.use.setEnabled(False)
        buttons.addWidget(self.find, 1)
        buttons.addWidget(self.use, 1)
        layout.addLayout(buttons)
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.suggested: float | None = None
        self.locked = False

    # --- what the controller tells it ---------------------------------------------------------------
    def show_running(self, text: str) -> None:
        self.lrs, self.losses, self.suggested = [], [], None
        self.curve.setData([], [])
        self.marker.hide()
        self.use.setEnabled(False)
        self.use.setText("Use it")
        self.plot.show()
        self.note.setText(text)

    def add_probe(self, lr: float, loss: float) -> None:
        if math.isfinite(loss) and lr > 0:
            self.lrs.append(lr)
            self.losses.append(loss)
            self.curve.setData(np.asarray(self.lrs), np.asarray(self.losses))

    def show_sweep(self, lrs: list[float], losses: list[float], suggested: float, text: str) -> None:
        """The whole sweep, the suggestion marked on it (the y range leaves out the explosion)."""
        pairs = [(lr, loss) for lr, loss in zip(lrs, losses) if lr > 0 and math.isfinite(loss)]
        self.lrs, self.losses = [lr for lr, _ in pairs], [loss for _, loss in pairs]
        self.suggested = suggested
        self.curve.setData(np.asarray(self.lrs), np.asarray(self.losses))
        if self.losses:
            low = min(self.losses)
            high = min(max(self.losses), self.losses[0] * 1.5 if self.losses[0] > low else max(self.losses))
            self.plot.getPlotItem().setYRange(low, max(high, low * 1.01 + 1e-6), padding=0.08)
        self.marker.setPos(math.log10(suggested))
        self.marker.label.setFormat(f"{suggested:.1e}")
        self.marker.show()
        self.plot.show()
        self.use.setText(f"Use {suggested:.1e}")
        self.use.setEnabled(not self.locked)
        self.note.setText(text)

    def show_stopped(self, text: str) -> None:
        self.note.setText(text)

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        self.find.setEnabled(not locked)
        self.use.setEnabled(not locked and self.suggested is not None)
