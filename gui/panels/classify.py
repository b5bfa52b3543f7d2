"""Classify panel: every dropped, pasted or opened image with what the network saw and its top-k."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
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

from gui.binding import Binder
from gui.imaging import array_to_pixmap
from gui.session import EventedStore
from gui.widgets import ProbabilityBars, heading, hint, panel_layout, set_state

MAX_CARDS = 60
ORIGINAL_SIDE = 96
INPUT_SIDE = 72


class ResultCard(QFrame):
    """One image: the original, the network's input, and the probabilities (or why not)."""

    def __init__(self, ticket: int, source: str | bytes) -> None:
        super().__init__()
        self.ticket = ticket
        self.source = source
        self.setObjectName("ResultCard")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(12)
        self.original = QLabel()
        self.original.setObjectName("ImageTile")
        self.original.setFixedSize(ORIGINAL_SIDE + 4, ORIGINAL_SIDE + 4)
        self.original.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.original.setText("…")
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

    def set_original(self, image: np.ndarray | None) -> None:
        """The image as given, decoded in the background (None: it cannot be read)."""
        if image is None:
            self.original.setText("?")
        else:
            self.original.setPixmap(array_to_pixmap(image, ORIGINAL_SIDE, smooth=True))

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        set_state(self.status, "busy")
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
        set_state(self.status, "error")
        self.status.show()
        self.input.setText("–")


class ClassifyPanel(QWidget):
    """Shows one card per image; asks (by signals) for new sources to be classified."""

    sources_chosen = Signal(list)     # list[str | bytes]
    paste_requested = Signal()
    reveal_requested = Signal()       # new cards arrived: the tab holding the panel should show

    def __init__(self, preferences: EventedStore, start_folder: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._start_folder = start_folder or (lambda: str(Path.home()))
        self.cards: dict[int, ResultCard] = {}
        self.removed = 0                  # older cards dropped to stay within MAX_CARDS
        self.binder = Binder(preferences)
        layout = panel_layout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Classify"))
        top.addStretch(1)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 10)
        self.top_k.setPrefix("top ")
        self.top_k.setToolTip("How many of the most likely classes to show")
        self.binder.field(self.top_k, "top_k")
        top.addWidget(self.top_k)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Choose image files to classify")
        self.open_button.clicked.connect(self.choose_files)
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
        self.removed_note = hint("")
        self.removed_note.hide()
        layout.addWidget(self.removed_note)
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

    def choose_files(self) -> None:
        """The Open… dialog (also File → Open images…)."""
        files, _ = QFileDialog.getOpenFileNames(self, "Images to classify", self._start_folder(),
                                                "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)")
        if files:
            self.sources_chosen.emit(files)

    # --- the classify controller's view -------------------------------------------------------------
    def set_model_description(self, text: str) -> None:
        self.model_label.setText(text)

    def reveal(self) -> None:
        self.reveal_requested.emit()

    def add_card(self, ticket: int, source: str | bytes) -> None:
        card = ResultCard(ticket, source)
        card.set_status("waiting…")
        self.cards[ticket] = card
        self.list_layout.insertWidget(0, card)
        self.drop_hint.hide()
        while len(self.cards) > MAX_CARDS:
            self.cards.pop(min(self.cards)).deleteLater()
            self.removed += 1
        if self.removed:
            self.removed_note.setText(f"Only the newest {MAX_CARDS} results are kept: {self.removed:,} older "
                                      f"{'one was' if self.removed == 1 else 'ones were'} removed.")
            self.removed_note.show()

    def _card(self, ticket: int) -> ResultCard | None:
        return self.cards.get(ticket)

    def set_original(self, ticket: int, image: Any) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_original(image)

    def set_status(self, ticket: int, text: str) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_status(text)

    def show_prediction(self, ticket: int, prediction: Any) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_prediction(prediction)

    def show_error(self, ticket: int, message: str) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_error(message)

    def clear(self) -> None:
        for card in self.cards.values():
            card.deleteLater()
        self.cards.clear()
        self.removed = 0
        self.removed_note.hide()
        self.drop_hint.show()
