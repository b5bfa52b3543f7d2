"""The lesson view in the centre: the chosen lesson's note, the published figure, what is
missing offline (and the fallback), the learner's own figure once run, and its buttons."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui.session import LessonState
from gui.widgets import set_state

NETWORKS = (
    ("vgg16_imagenet", "VGG16"),
    ("resnet50", "ResNet50"),
    ("mobilenet_v2", "MobileNetV2"),
    ("inception_v3", "InceptionV3"),
    ("efficientnet_b0", "EfficientNetB0"),
)


def _label(object_name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    if object_name:
        label.setObjectName(object_name)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class LessonCard(QFrame):
    run_requested = Signal(str)  # the recipe: "textbook" (▶ Run lesson) or "fast" (⚡ Run it fast)
    fallback_requested = Signal()
    network_chosen = Signal(str)
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LessonCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 10, 12)
        layout.setSpacing(8)
        self.title = _label("LessonTitle")
        layout.addWidget(self.title)
        top = QHBoxLayout()
        self.network = QComboBox()
        for name, text in NETWORKS:
            self.network.addItem(text, name)
        self.network.setToolTip("The ImageNet network to classify with (its published weights and 1000 classes)")
        self.network.activated.connect(lambda i: self.network_chosen.emit(self.network.itemData(i)))
        top.addWidget(self.network)
        self.fallback = QPushButton()
        self.fallback.setToolTip(
            "Run the same recipe on data that needs no download; the published figure then does not apply"
        )
        self.fallback.clicked.connect(self.fallback_requested)
        top.addWidget(self.fallback)
        self.run = QPushButton("▶ Run lesson")
        self.run.setObjectName("PrimaryButton")
        self.run.setToolTip("Train it as the tutorial did (the textbook recipe)")
        self.run.clicked.connect(lambda: self.run_requested.emit("textbook"))
        top.insertWidget(0, self.run)
        self.fast = QPushButton("⚡ Run it fast")
        self.fast.setObjectName("FastButton")
        self.fast.setToolTip(
            "The same network trained the fast way: a schedule that moves every batch, larger batches, fewer epochs, "
            "label smoothing, flips and test-time augmentation (the Training settings show each one). "
            "How close does it get to the textbook's figure, in how much less time?"
        )
        self.fast.clicked.connect(lambda: self.run_requested.emit("fast"))
        top.insertWidget(1, self.fast)
        top.addStretch(1)
        self.close_button = QPushButton("Close lesson")
        self.close_button.setToolTip(
            "Close the lesson: your own settings (data, model, training, grid) come back as they were before it"
        )
        self.close_button.clicked.connect(self.close_requested)
        closing = QHBoxLayout()  # a row of its own: beside Run and Run it fast it would not fit a laptop
        closing.addStretch(1)
        closing.addWidget(self.close_button)
        self.note = _label("LessonNote")
        layout.addWidget(self.note)
        self.warning = _label("Warning")
        layout.addWidget(self.warning)
        figures = QGridLayout()
        figures.setHorizontalSpacing(10)
        figures.setVerticalSpacing(2)
        figures.setColumnStretch(1, 1)
        self.published_caption, self.published = QLabel("Published"), _label("LessonFigure")
        self.yours_caption, self.yours = QLabel("Yours"), _label("LessonFigure")
        for row, (caption, value) in enumerate(
            ((self.published_caption, self.published), (self.yours_caption, self.yours))
        ):
            caption.setObjectName("Caption")
            figures.addWidget(caption, row, 0, Qt.AlignmentFlag.AlignTop)
            figures.addWidget(value, row, 1)
        layout.addLayout(figures)
        self.kept = _label("Hint")
        self.kept.setText(
            "The lesson set its own data, model and training settings; yours are kept aside and come back when "
            "you close the lesson. Its runs are marked as the lesson's in the Runs tab."
        )
        layout.addWidget(self.kept)
        layout.addLayout(top)
        layout.addLayout(closing)
        layout.addStretch(1)
        self.state = LessonState()

    def show_lesson(self, state: LessonState) -> None:
        self.state = state
        if not state.name:
            return
        self.title.setText(f"Lesson · {html.escape(state.title)}")
        self.kept.setVisible(state.kept_aside)
        self.close_button.setText("Close lesson, restore my settings" if state.kept_aside else "Close lesson")
        self.note.setText(html.escape(state.note))
        self.network.setVisible(state.kind == "imagenet")
        if state.kind == "imagenet":
            index = self.network.findData(state.network)
            if index >= 0:
                self.network.setCurrentIndex(index)
        warning = ""
        if state.status == "unavailable":
            warning = f"⚠ Not available offline: {html.escape(state.missing)}."
            if state.fallback:
                warning += (
                    f" You can run it on <b>{state.fallback}</b> instead: the published figure then does not apply."
                )
        elif state.fallback_note:
            warning = f"⚠ Set up {html.escape(state.fallback_note)}."
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))
        set_state(self.warning, "warning")
        self.published.setText(html.escape(state.published))
        self.published_caption.setText("Published" + (" (does not apply here)" if state.fallback_note else ""))
        yours = {"running": "<i>running…</i>", "loading": "<i>loading the network…</i>"}.get(state.status, "")
        if state.figure:
            parts = state.figure.split(" | ")
            if len(parts) > 1:  # a grid: one row per combination, its settings then its figures
                rows = [part.removesuffix(" accuracy").partition(": ") for part in parts]
                yours = (
                    "<table cellspacing='0' cellpadding='0'>"
                    + "".join(
                        f"<tr><td>{html.escape(label)}&nbsp;&nbsp;</td><td><b>{html.escape(figures)}</b></td></tr>"
                        for label, _, figures in rows
                    )
                    + "</table>"
                )
            else:
                yours = f"<b>{html.escape(state.figure)}</b>"
        self.yours.setText(yours)
        self.yours.setVisible(bool(yours))
        self.yours_caption.setVisible(bool(yours))
        where = [f"on {state.fallback}"] if state.fallback_note else []
        where += ["fast recipe"] if state.recipe == "fast" else []
        self.yours_caption.setText("Yours" + (f" ({', '.join(where)})" if where else ""))
        self.fallback.setText(f"Run on {state.fallback} instead")
        self.fallback.setVisible(state.status == "unavailable" and bool(state.fallback))
        self.run.setText("▶ Load network" if state.kind == "imagenet" else "▶ Run lesson")
        self.run.setVisible(state.status != "unavailable")
        self.run.setEnabled(state.status in ("ready", "finished", "failed"))
        self.fast.setVisible(state.status != "unavailable" and state.fast)
        self.fast.setEnabled(state.status in ("ready", "finished", "failed"))

    def set_locked(self, locked: bool) -> None:
        """While a training runs, a lesson cannot start (nor its network change, nor close)."""
        self.close_button.setEnabled(not locked)
        for widget in (self.run, self.fast, self.fallback, self.network):
            runs = widget in (self.run, self.fast)
            widget.setEnabled(not locked and (not runs or self.state.status in ("ready", "finished", "failed")))
