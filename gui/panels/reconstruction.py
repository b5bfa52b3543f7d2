"""The autoencoder view in the centre: a few validation images as original, noisy input and
reconstruction, side by side, then every dropped image reconstructed the same way."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QScrollArea, QWidget

from gui.session import AutoencoderState
from gui.widgets import heading, hint, image_tile, panel_layout

SIDE = 56
ROWS = ("original", "noisy input", "reconstruction")


class ReconstructionPanel(QWidget):
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Reconstructions")
        layout = panel_layout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        top.addWidget(heading("Reconstructions"))
        top.addStretch(1)
        close = QPushButton("✕ Close")
        close.setObjectName("FlatButton")
        close.clicked.connect(self.close_requested)
        top.addWidget(close)
        layout.addLayout(top)
        self.note = hint(
            "Train the autoencoder: a few validation images will show here, and every image dropped on "
            "the window is reconstructed."
        )
        layout.addWidget(self.note)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        inner = QWidget()
        self.grid = QGridLayout(inner)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(4)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for row, name in enumerate(ROWS):
            label = QLabel(name)
            label.setObjectName("Caption")
            self.grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)
        self.samples = 0  # validation columns shown
        self.dropped: dict[int, int] = {}  # ticket → column
        self.results: dict[int, Any] = {}  # ticket → gui.jobs.Reconstructed
        self.names: dict[int, str] = {}  # ticket → the dropped file's name

    def _clear_columns(self) -> None:
        for i in reversed(range(self.grid.count())):
            item = self.grid.itemAt(i)
            _, column, _, _ = self.grid.getItemPosition(i)
            if column > 0 and item.widget() is not None:
                item.widget().deleteLater()
                self.grid.removeItem(item)

    def show_autoencoder(self, state: AutoencoderState) -> None:
        if state.status == "none":
            return
        self._clear_columns()
        self.dropped.clear()
        self.results.clear()
        self.note.setText(state.note)
        for column, images in enumerate(state.samples, start=1):
            for row, image in enumerate(images):
                self.grid.addWidget(
                    image_tile(image, SIDE, tooltip=f"validation image {column}: {ROWS[row]}"), row, column
                )
        self.samples = len(state.samples)

    def add_reconstruction(self, ticket: int, name: str) -> None:
        column = 1 + self.samples + len(self.dropped) + (1 if self.samples else 0)  # a gap after the samples
        self.dropped[ticket] = column
        self.names[ticket] = name
        waiting = QLabel("…")
        waiting.setObjectName("Caption")
        waiting.setToolTip(name)
        self.grid.addWidget(waiting, 0, column)

    def show_reconstruction(self, ticket: int, result: Any) -> None:
        column = self.dropped.get(ticket)
        if column is None:
            return
        self.results[ticket] = result
        old = self.grid.itemAtPosition(0, column)
        if old is not None and old.widget() is not None:
            old.widget().deleteLater()
            self.grid.removeWidget(old.widget())
        if result.problem:
            problem = hint(f"⚠ {result.problem}")
            problem.setMaximumWidth(SIDE * 2)
            self.grid.addWidget(problem, 0, column, 3, 1)
            return
        tiles = (result.original, result.noisy, result.reconstruction)
        for row, image in enumerate(tiles):
            caption = f"error {result.error:.4f}" if row == 2 else self.names.get(ticket, "") if row == 0 else ""
            self.grid.addWidget(image_tile(image, SIDE, caption, tooltip=f"dropped image: {ROWS[row]}"), row, column)
