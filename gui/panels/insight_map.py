"""The map view: validation images as points placed by the network's penultimate features.

Colour: the true class; a cross: misclassified; a star: an image dropped on the window. Hover a
point to see its image, click it to see the model's answer and where it looked.
"""

from __future__ import annotations

import colorsys
import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.imaging import array_to_pixmap
from gui.widgets import heading, hint, panel_layout

PREVIEW_SIDE = 96
METHODS = (("PCA", "pca"), ("UMAP", "umap"), ("t-SNE", "tsne"))
METHOD_TIP = (
    "PCA: a linear projection, fast, can place dropped images. UMAP: keeps neighbourhoods, needs the "
    "optional umap-learn package. t-SNE: clusters well but cannot place new images."
)


def class_colours(count: int) -> list[str]:
    """Distinct colours: the run palette first, then evenly spaced hues."""
    colours = list(theme.RUN_COLORS[: min(count, len(theme.RUN_COLORS))])
    for i in range(count - len(colours)):
        r, g, b = colorsys.hsv_to_rgb(i / max(1, count - len(colours)), 0.65, 0.95)
        colours.append(f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}")
    return colours


class MapPanel(QWidget):
    draw_requested = Signal(str)  # the projection method
    point_hovered = Signal(int)  # position in the embedding
    point_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = panel_layout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Map"))
        top.addStretch(1)
        self.method = QComboBox()
        for text, name in METHODS:
            self.method.addItem(text, name)
        self.method.setToolTip(METHOD_TIP)
        top.addWidget(self.method)
        self.draw_button = QPushButton("Draw")
        self.draw_button.setToolTip("Place the validation images by what the network's last hidden layer makes of them")
        self.draw_button.clicked.connect(lambda: self.draw_requested.emit(self.method.currentData()))
        top.addWidget(self.draw_button)
        layout.addLayout(top)
        self.status = hint(
            "Draw the map of the validation images once a model is trained or a run is open: "
            "classes that the network separates form separate clouds."
        )
        layout.addWidget(self.status)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("MapPlot")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(180)
        self.points = pg.ScatterPlotItem(size=7, hoverable=True, hoverSize=11, hoverPen=pg.mkPen(theme.TEXT, width=1.5))
        self.points.sigHovered.connect(self._on_hover)
        self.points.sigClicked.connect(self._on_click)
        self.stars = pg.ScatterPlotItem(
            size=20, symbol="star", brush=pg.mkBrush("#ffffff"), pen=pg.mkPen(theme.BACKGROUND)
        )
        self.plot.addItem(self.points)
        self.plot.addItem(self.stars)
        layout.addWidget(self.plot, 1)
        self.legend = QLabel("")
        self.legend.setObjectName("Caption")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        preview = QHBoxLayout()
        self.preview = QLabel()
        self.preview.setObjectName("ImageTile")
        self.preview.setFixedSize(PREVIEW_SIDE + 4, PREVIEW_SIDE + 4)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption = hint("Hover a point to see its image; click it for the model's answer and where it looked.")
        preview.addWidget(self.preview)
        preview.addWidget(self.caption, 1)
        layout.addLayout(preview)
        self._star_data: list[dict[str, Any]] = []
        self._shown = -1

    # --- the map controller's view ------------------------------------------------------------------
    def show_waiting(self, text: str) -> None:
        self.status.setText(text)
        self.points.clear()
        self.stars.clear()
        self._star_data.clear()
        self.legend.clear()

    def show_map(self, embedding: Any, class_names: list[str], title: str = "") -> None:
        colours = class_colours(len(class_names))
        wrong = embedding.labels != embedding.predicted
        spots = [
            {
                "pos": (float(x), float(y)),
                "data": i,
                "brush": pg.mkBrush(colours[int(label)]),
                "symbol": "x" if miss else "o",
                "size": 9 if miss else 6,
                "pen": pg.mkPen(theme.BAD if miss else theme.SURFACE, width=1.5 if miss else 0.5),
            }
            for i, ((x, y), label, miss) in enumerate(zip(embedding.points, embedding.labels, wrong))
        ]
        self.points.setData(spots)
        self.stars.clear()
        self._star_data.clear()
        self.plot.autoRange()
        count = len(embedding.points)
        self.status.setText(
            (f"Of {title}: " if title else "") + f"{count:,} validation images ({embedding.method.upper()}); "
            f"{int(wrong.sum()):,} misclassified (crosses). Dropped images appear as stars."
        )
        self.legend.setText(
            " ".join(
                f'<span style="color:{colour}">■</span> {html.escape(name)}'
                for name, colour in zip(class_names[:40], colours)
            )
        )

    def add_star(self, ticket: int, point: Any, label: str) -> None:
        self._star_data.append({"pos": (float(point[0]), float(point[1])), "data": ticket})
        self.stars.setData(self._star_data)
        self.stars.setToolTip("Dropped images: " + ", ".join(str(d["data"]) for d in self._star_data))

    def show_preview(self, name: str, image: Any, caption: str) -> None:
        if image is not None:
            self.preview.setPixmap(array_to_pixmap(np.asarray(image), PREVIEW_SIDE))
        self.caption.setText(f"{name}: {caption}")

    def show_sample(self, sample: Any) -> None:
        self._dialog = SampleDialog(sample, self)
        self._dialog.show()

    # --- pointer --------------------------------------------------------------------------------------
    def _on_hover(self, _item: Any, points: Any, _event: Any) -> None:
        if len(points) and points[0].data() != self._shown:
            self._shown = int(points[0].data())
            self.point_hovered.emit(self._shown)

    def _on_click(self, _item: Any, points: Any, _event: Any) -> None:
        if len(points):
            self.point_clicked.emit(int(points[0].data()))

    def star_count(self) -> int:
        return len(self._star_data)


class SampleDialog(QDialog):
    """One validation image: the model's answer and where it looked."""

    def __init__(self, sample: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(sample.name)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        for image, tip in ((sample.image, "the image"), (sample.overlay, f"where the network looked ({sample.how})")):
            label = QLabel()
            label.setPixmap(array_to_pixmap(np.asarray(image), 220, smooth=False))
            label.setToolTip(tip)
            row.addWidget(label)
        layout.addLayout(row)
        verdict = "right" if sample.true == sample.predicted else "wrong"
        layout.addWidget(
            hint(
                f"True class <b>{html.escape(sample.true)}</b> · predicted <b>{html.escape(sample.predicted)}</b> "
                f"({sample.probability:.0%}, {verdict}) · right: {sample.how}, red where it looked most"
            )
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
