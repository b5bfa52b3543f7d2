"""Classify panel: every dropped, pasted or opened image with what the network saw and its top-k."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.imaging import array_to_pixmap
from gui.widgets import ProbabilityBars, heading

MAX_CARDS = 60
ORIGINAL_SIDE = 96
INPUT_SIDE = 72


def _original_pixmap(source: str | bytes, side: int) -> QPixmap | None:
    image = QImage()
    if isinstance(source, bytes):
        image.loadFromData(source)
    else:
        image.load(source)
    if image.isNull():
        return None
    return QPixmap.fromImage(image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))


class ResultCard(QFrame):
    """One image: the original, the network's input, and the probabilities (or why not)."""

    def __init__(self, ticket: int, source: str | bytes) -> None:
        super().__init__()
        self.ticket = ticket
        self.setObjectName("ResultCard")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(12)
        self.original = QLabel()
        self.original.setObjectName("ImageTile")
        self.original.setFixedSize(ORIGINAL_SIDE + 4, ORIGINAL_SIDE + 4)
        self.original.setAlignment(Qt.AlignmentFlag.AlignCenter)
        pixmap = _original_pixmap(source, ORIGINAL_SIDE)
        if pixmap is None:
            self.original.setText("?")
        else:
            self.original.setPixmap(pixmap)
        self.original.setToolTip("The image as given")
        layout.addWidget(self.original)
        seen = QVBoxLayout()
        seen.setSpacing(2)
        self.input = QLabel()
        self.input.setObjectName("ImageTile")
        self.input.setFixedSize(INPUT_SIDE + 4, INPUT_SIDE + 4)
        self.input.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input.setToolTip("What the network saw: resized, converted and (for digits) inverted and centred")
        seen.addWidget(self.input)
        caption = QLabel("network input")
        caption.setObjectName("Caption")
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        seen.addWidget(caption)
        seen.addStretch(1)
        layout.addLayout(seen)
        right = QVBoxLayout()
        right.setSpacing(4)
        name = "pasted image" if isinstance(source, bytes) else Path(source).name
        # The verdict is short and always whole; the file name under it is clipped when long (the
        # full path is in the tooltip) instead of widening the column or hiding the verdict.
        self.verdict = QLabel()
        self.verdict.setObjectName("CardTitle")
        self.verdict.hide()
        right.addWidget(self.verdict)
        self.name = QLabel(name)
        self.name.setObjectName("Caption")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.name.setToolTip(name if isinstance(source, bytes) else str(source))
        right.addWidget(self.name)
        self.status = QLabel("waiting…")
        self.status.setObjectName("Status")
        self.status.setWordWrap(True)
        right.addWidget(self.status)
        self.bars = ProbabilityBars()
        self.bars.hide()
        right.addWidget(self.bars)
        right.addStretch(1)
        layout.addLayout(right, 1)
        self.prediction: Any = None
        self.error = ""

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setProperty("state", "busy")
        self.status.style().polish(self.status)
        self.status.show()

    def set_prediction(self, prediction: Any) -> None:
        self.prediction = prediction
        self.status.hide()
        self.input.setPixmap(array_to_pixmap(np.asarray(prediction.input), INPUT_SIDE))
        self.bars.set_top(prediction.top)
        self.bars.show()
        label, p = prediction.top[0]
        self.verdict.setText(f"<b>{html.escape(str(label))}</b> &nbsp;{p:.0%}")
        self.verdict.show()

    def set_error(self, message: str) -> None:
        self.error = message
        self.status.setText(f"⚠ {message}")
        self.status.setProperty("state", "error")
        self.status.style().polish(self.status)
        self.status.show()
        self.input.setText("–")


class ClassifyPanel(QWidget):
    """Shows cards; asks the window (via signals) to classify new sources."""

    sources_chosen = Signal(list)     # list[str | bytes]
    paste_requested = Signal()

    def __init__(self, last_folder: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._last_folder = last_folder or (lambda: str(Path.home()))
        self.cards: dict[int, ResultCard] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        top = QHBoxLayout()
        top.addWidget(heading("Classify"))
        top.addStretch(1)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 10)
        self.top_k.setValue(3)
        self.top_k.setPrefix("top ")
        self.top_k.setToolTip("How many of the most likely classes to show")
        top.addWidget(self.top_k)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Choose image files to classify")
        self.open_button.clicked.connect(self._open)
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Classify the image or files on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("FlatButton")
        self.clear_button.clicked.connect(self.clear)
        for b in (self.open_button, self.paste_button, self.clear_button):
            top.addWidget(b)
        layout.addLayout(top)
        self.model_label = QLabel("No model yet — train one or open a run.")
        self.model_label.setObjectName("Hint")
        self.model_label.setWordWrap(True)
        layout.addWidget(self.model_label)
        self.drop_hint = QLabel("Drop images or a folder anywhere in the window\n— or Open… / Ctrl+V —")
        self.drop_hint.setObjectName("DropHint")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)
        self.drop_hint.setMinimumHeight(120)
        layout.addWidget(self.drop_hint)
        self.list = QWidget()
        self.list_layout = QVBoxLayout(self.list)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(8)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.list)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(scroll, 1)
        self._next_ticket = 0

    def set_model_description(self, text: str) -> None:
        self.model_label.setText(text)

    def _open(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Images to classify", self._last_folder(),
                                                "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        if files:
            self.sources_chosen.emit(files)

    def add_pending(self, source: str | bytes, status: str = "waiting…") -> int:
        self._next_ticket += 1
        card = ResultCard(self._next_ticket, source)
        card.set_status(status)
        self.cards[card.ticket] = card
        self.list_layout.insertWidget(0, card)
        self.drop_hint.hide()
        while len(self.cards) > MAX_CARDS:
            oldest = min(self.cards)
            self.cards.pop(oldest).deleteLater()
        return card.ticket

    def set_status(self, ticket: int, text: str) -> None:
        if ticket in self.cards:
            self.cards[ticket].set_status(text)

    def show_prediction(self, ticket: int, prediction: Any) -> None:
        if ticket in self.cards:
            self.cards[ticket].set_prediction(prediction)

    def show_error(self, ticket: int, message: str) -> None:
        if ticket in self.cards:
            self.cards[ticket].set_error(message)

    def clear(self) -> None:
        for card in self.cards.values():
            card.deleteLater()
        self.cards.clear()
        self.drop_hint.show()
