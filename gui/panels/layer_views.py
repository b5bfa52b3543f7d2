"""What the network's layers make of one image: each convolution's most active feature maps (the
first layers respond to edges and colours, the deep ones to parts), and the first layer's filters."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from gui.imaging import array_to_pixmap
from gui.widgets import heading, hint

MAP_WIDTH = 520


class LayerViewsDialog(QDialog):
    def __init__(self, views: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Layers — {views.title}")
        self.resize(600, 760)
        outer = QVBoxLayout(self)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setSpacing(6)
        if not views.maps:
            column.addWidget(
                hint(
                    "This network has no convolutions: its layers see the image as one long vector, "
                    "with no maps to show."
                )
            )
        for index, (layer, grid) in enumerate(views.maps):
            column.addWidget(
                heading(
                    f"{layer}"
                    + ("  · first convolution" if index == 0 else "  · deepest" if index == len(views.maps) - 1 else "")
                )
            )
            picture = QLabel()
            picture.setPixmap(array_to_pixmap(grid, min(MAP_WIDTH, max(grid.shape[:2]) * 4), smooth=False))
            picture.setToolTip(f"The most active channels of {layer}'s output for this image (bright: strong response)")
            column.addWidget(picture)
        if views.filters is not None:
            column.addWidget(heading("Filters of the first convolution"))
            picture = QLabel()
            picture.setPixmap(
                array_to_pixmap(views.filters, min(MAP_WIDTH, max(views.filters.shape[:2]) * 8), smooth=False)
            )
            picture.setToolTip("The learned kernels: what each first-layer map looks for (edges, colours, blobs)")
            column.addWidget(picture)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        outer.addWidget(
            hint(
                "The maps of each convolution, strongest channels first: early layers respond to edges "
                "and colours, deeper ones to larger parts."
            )
        )
        outer.addWidget(scroll, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        outer.addWidget(buttons, 0, Qt.AlignmentFlag.AlignRight)
