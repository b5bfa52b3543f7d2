"""Help inside the window: a four-step tour of a first session (pick data, pick a model, train,
drop an image), each step showing the place it talks about, and the list of keyboard shortcuts
(read from the menus, so it never disagrees with them)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import hint

#: (where the window goes, title, what to do there)
TOUR = (
    (
        "data",
        "1 · Pick the data",
        "The <b>Data</b> tab (left): choose what the model learns from. <i>digits</i> is built in and loads in "
        "a moment; a folder with one sub-folder of images per class (cats/, dogs/…) or an .npz file works too. "
        "The tab shows the classes, the split sizes and a few samples of each class.",
    ),
    (
        "model",
        "2 · Pick a model",
        "The <b>Model</b> tab: <i>mlp</i> trains in seconds on digits; the CNNs suit photos; the ImageNet "
        "backbones learn from a few images each. The layer table shows every layer; untick one to freeze it.",
    ),
    (
        "train",
        "3 · Train",
        "Press <b>Train</b> at the top (Ctrl+Return). The curves in the centre show the loss and the accuracy "
        "of every batch and epoch; Pause (Ctrl+P) and Stop (Ctrl+.) are beside Train. Every training is "
        "saved as a run: the <b>Runs</b> tab lists them, to open, compare, continue or fork.",
    ),
    (
        "classify",
        "4 · Drop an image",
        "Drop an image or a folder anywhere on the window, paste one (Ctrl+V) or use Open… in the "
        "<b>Classify</b> tab (right): each card shows what the network saw, its top answers and whether the "
        "image looks like the training images. Errors, Map and Labels show where the model goes wrong.",
    ),
)


class TourDialog(QDialog):
    """Getting started: one step at a time; `step_shown(place)` lets the window show that place."""

    step_shown = Signal(str)  # "data" | "model" | "train" | "classify"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TourDialog")
        self.setWindowTitle("Getting started with LayerLab")
        self.setModal(False)
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 12)
        layout.setSpacing(10)
        self.title = QLabel()
        self.title.setObjectName("Heading")
        layout.addWidget(self.title)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setMinimumHeight(96)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.text, 1)
        buttons = QHBoxLayout()
        self.counter = hint("")
        buttons.addWidget(self.counter, 1)
        self.back = QPushButton("Back")
        self.back.clicked.connect(lambda: self.show_step(self.step - 1))
        self.next = QPushButton("Next")
        self.next.setObjectName("PrimaryButton")
        self.next.clicked.connect(self._next)
        buttons.addWidget(self.back)
        buttons.addWidget(self.next)
        layout.addLayout(buttons)
        self.step = 0

    def show_step(self, step: int) -> None:
        self.step = max(0, min(len(TOUR) - 1, step))
        place, title, text = TOUR[self.step]
        self.title.setText(title)
        self.text.setText(text)
        self.counter.setText(f"Step {self.step + 1} of {len(TOUR)}")
        self.back.setEnabled(self.step > 0)
        self.next.setText("Done" if self.step == len(TOUR) - 1 else "Next")
        self.step_shown.emit(place)

    def _next(self) -> None:
        if self.step == len(TOUR) - 1:
            self.accept()
        else:
            self.show_step(self.step + 1)


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: every menu shortcut, and what the mouse does."""

    MOUSE = (
        ("Classify images", "drop files or a folder on the window"),
        ("Select several runs", "Ctrl+click or Shift+click in the Runs tab"),
        ("Zoom the curves", "mouse wheel or drag; Fit shows them whole again"),
    )

    def __init__(self, shortcuts: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        layout = QVBoxLayout(self)
        rows = [*shortcuts, *self.MOUSE]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["What", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        for row, (what, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)
        self.resize(520, 420)
