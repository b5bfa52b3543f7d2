"""Classify panel: every dropped, pasted or opened image with what the network saw and its top-k."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.binding import Binder
from gui.imaging import array_to_pixmap
from gui.session import EventedStore
from gui.widgets import ElidedLabel, ProbabilityBars, heading, hint, panel_layout, set_state

KEY_WIDTH = 90
ORIGINAL_SIDE = 96
INPUT_SIDE = 72


class ResultCard(QFrame):
    """One image: the original, the network's input, and the probabilities (or why not)."""

    layers_requested = Signal(int)  # the ticket whose layer views the user asked for

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
        # The verdict is always whole (wrapped when long); the file name under it is clipped when
        # long (the full path is in the tooltip) instead of widening the column or hiding the verdict.
        self.verdict = QLabel()
        self.verdict.setObjectName("CardTitle")
        self.verdict.setWordWrap(True)  # "unfamiliar — probably none of these" must not widen the card
        self.verdict.hide()
        right.addWidget(self.verdict)
        self.name = QLabel(name)
        self.name.setObjectName("Caption")
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.name.setToolTip(name if isinstance(source, bytes) else str(source))
        right.addWidget(self.name)
        self.model = ElidedLabel()
        self.model.setObjectName("Caption")
        self.model.hide()
        right.addWidget(self.model)
        self.status = QLabel("waiting…")
        self.status.setObjectName("Status")
        self.status.setWordWrap(True)
        right.addWidget(self.status)
        self.bars = ProbabilityBars()
        self.bars.hide()
        right.addWidget(self.bars)
        self.trust = QLabel()
        self.trust.setObjectName("Trust")
        self.trust.setWordWrap(True)
        self.trust.hide()
        right.addWidget(self.trust)
        self.layers = QPushButton("Layers…")
        self.layers.setObjectName("FlatButton")
        self.layers.setToolTip("What each convolution makes of this image, and the first layer's filters")
        self.layers.clicked.connect(lambda: self.layers_requested.emit(self.ticket))
        self.layers.hide()
        right.addWidget(self.layers, 0, Qt.AlignmentFlag.AlignLeft)
        right.addStretch(1)
        layout.addLayout(right, 1)
        self.prediction: Any = None
        self.error = ""
        self._picture: QPixmap | None = None  # the image as given (the overlay is drawn over a copy)
        self._layers: Any = None  # the explanation, blended at the panel's opacity
        self.overlay_shown = False

    def set_original(self, image: np.ndarray | None) -> None:
        """The image as given, decoded in the background (None: it cannot be read)."""
        if image is None:
            self.original.setText("?")
            return
        self._picture = array_to_pixmap(image, ORIGINAL_SIDE, smooth=True)
        if not self.overlay_shown:
            self.original.setPixmap(self._picture)

    def set_overlay(self, layers: Any, how: str, opacity: float) -> None:
        """Where the network looked, drawn over the image at `opacity` (`engine.OverlayLayers`, or
        an image already drawn): red most, blue least, the strongest region outlined in white."""
        self.overlay_shown = True
        self._layers = layers
        self.set_opacity(opacity)
        self.original.setToolTip(
            f"Where the network looked for its answer ({how}): red most, blue least; "
            "the strongest region is outlined in white"
        )

    def set_opacity(self, opacity: float) -> None:
        if self.overlay_shown and self._layers is not None:
            picture = self._layers.blend(opacity) if hasattr(self._layers, "blend") else self._layers
            self.original.setPixmap(array_to_pixmap(np.asarray(picture), ORIGINAL_SIDE, smooth=True))

    def clear_overlay(self) -> None:
        self.overlay_shown = False
        self._layers = None
        self.original.setToolTip("The image as given")
        if self._picture is not None:
            self.original.setPixmap(self._picture)

    def set_status(self, text: str) -> None:
        """Waiting or classifying: an answer shown before (of another model) is cleared, visibly."""
        self.prediction, self.error = None, ""
        for widget in (self.verdict, self.bars, self.trust, self.layers, self.model):
            widget.hide()
        self.input.clear()
        self.status.setText(text)
        set_state(self.status, "busy")
        self.status.show()

    def set_prediction(self, prediction: Any, model: str = "") -> None:
        self.prediction = prediction
        self.error = ""
        self.status.hide()
        self.model.set_text(f"answered by {model}" if model else "", "The model that gave this answer")
        self.model.setVisible(bool(model))
        self.input.setPixmap(array_to_pixmap(np.asarray(prediction.input), INPUT_SIDE))
        self.bars.set_top(prediction.top)
        self.bars.show()
        self.verdict.setText(headline(prediction))
        self.verdict.show()
        self._show_capsules(prediction)
        self._show_trust(prediction)
        self.layers.show()

    def _show_capsules(self, prediction: Any) -> None:
        """CapsNet answers with capsule lengths: say so, with the raw lengths of the classes shown."""
        lengths = getattr(prediction, "lengths", None)
        if lengths is None or prediction.probabilities is None:
            tip = ""
        else:
            order = np.argsort(prediction.probabilities)[::-1][: len(prediction.top)]
            raw = ", ".join(f"{label} {float(lengths[i]):.2f}" for (label, _), i in zip(prediction.top, order))
            tip = (
                "CapsNet: each class's capsule length (0..1: how sure the network is that the class is present) "
                f"read as a probability. Raw capsule lengths: {raw}"
            )
        self.bars.setToolTip(tip)
        self.verdict.setToolTip(tip)
        self.name.setText(self.name.text().removesuffix(" · capsule lengths") + (" · capsule lengths" if tip else ""))

    def _show_trust(self, prediction: Any) -> None:
        """Whether the image looks like the training images: its own line under the answer."""
        if prediction.familiar is None:
            self.trust.hide()
            return
        if prediction.familiar:
            self.trust.setText("looks like the training images")
            set_state(self.trust, "ok")
        else:
            self.trust.setText("⚠ but this image is unlike the training images: the answer may mean nothing")
            set_state(self.trust, "warning")
        self.trust.setToolTip(trust_tooltip(prediction))
        self.trust.show()

    def set_error(self, message: str) -> None:
        self.error = message
        self.prediction = None
        for widget in (self.verdict, self.bars, self.trust, self.layers, self.model):
            widget.hide()
        self.status.setText(f"⚠ {message}")
        set_state(self.status, "error")
        self.status.show()
        self.input.setText("–")


NOT_SURE = "not sure"  # engine.inference.classifier.NOT_SURE: the verdict below the user's threshold
PART_NAMES = {"image": "the image as given", "features": "what the network made of it"}


def headline(prediction: Any) -> str:
    """The class and its probability, always ("4 · 99.9 %"); "not sure" after it when the top
    probability is below the user's threshold. Unfamiliarity has its own line (`_show_trust`)."""
    label, p = prediction.top[0]
    text = f"<b>{html.escape(str(label))}</b> · {p:.1%}"
    if prediction.verdict == NOT_SURE:
        text += f" — {NOT_SURE}"
    return text


def trust_tooltip(prediction: Any) -> str:
    """What the unfamiliarity score is made of: each part against the line (1×) drawn after training."""
    lines = [
        "How unlike the training images this image is, 1× being the line drawn after training "
        f"(about 5 % of images like the validation images cross it): {prediction.ood_score:.2f}×"
    ]
    for name, value in (getattr(prediction, "ood_parts", None) or {}).items():
        lines.append(f"  {PART_NAMES.get(name, name)}: {value:.2f}×{'  ← over the line' if value > 1 else ''}")
    return "\n".join(lines)


class ClassifyPanel(QWidget):
    """Shows one card per image; asks (by signals) for new sources to be classified."""

    sources_chosen = Signal(list)  # list[str | bytes]
    paste_requested = Signal()
    clear_requested = Signal()
    reveal_requested = Signal()  # new cards arrived: the tab holding the panel should show
    layers_requested = Signal(int)  # a card's "Layers…"

    def __init__(self, preferences: EventedStore, start_folder: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._start_folder = start_folder or (lambda: str(Path.home()))
        self.cards: dict[int, ResultCard] = {}
        self.removed = 0  # older cards dropped to stay within MAX_CARDS
        self.binder = Binder(preferences)
        layout = panel_layout(self)
        title = QHBoxLayout()  # the heading and Clear, then the controls on their own row
        title.addWidget(heading("Classify"))
        title.addStretch(1)
        layout.addLayout(title)
        top = QHBoxLayout()
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 10)
        self.top_k.setPrefix("top ")
        self.top_k.setToolTip("How many of the most likely classes to show")
        self.binder.field(self.top_k, "top_k")
        top.addWidget(self.top_k)
        self.threshold = QSpinBox()
        self.threshold.setRange(0, 99)
        self.threshold.setSuffix(" %")
        self.threshold.setPrefix("sure ≥ ")
        self.threshold.setSpecialValueText("sure: any")
        self.threshold.setToolTip("An answer whose top probability is below this is shown as 'not sure' (0: off)")
        self.binder.field(
            self.threshold, "threshold", to_widget=lambda v: round(v * 100), from_widget=lambda v: v / 100
        )
        top.addWidget(self.threshold)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Choose image files to classify")
        self.open_button.clicked.connect(self.choose_files)
        self.paste_button = QPushButton("Paste")
        self.paste_button.setToolTip("Classify the image or files on the clipboard (Ctrl+V)")
        self.paste_button.clicked.connect(self.paste_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("FlatButton")
        self.clear_button.setToolTip("Remove every card")
        self.clear_button.clicked.connect(self.clear_requested)
        top.addStretch(1)
        for b in (self.open_button, self.paste_button, self.clear_button):
            title.addWidget(b)
        layout.addLayout(top)
        self.model_label = QLabel("No model yet — train one or open a run.")
        self.model_label.setObjectName("Hint")
        self.model_label.setWordWrap(True)
        layout.addWidget(self.model_label)
        self.explain = QCheckBox("Show where the network looks")
        self.explain.setToolTip(
            "Draw over each image the places that decided the answer: Grad-CAM for "
            "convolutional networks, the gradient of the class score (saliency) for the MLP"
        )
        self.binder.field(self.explain, "explain")
        layout.addWidget(self.explain)
        layout.addWidget(self._explain_key())
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
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Images to classify",
            self._start_folder(),
            "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)",
        )
        if files:
            self.sources_chosen.emit(files)

    # --- the classify controller's view -------------------------------------------------------------
    def _explain_key(self) -> QWidget:
        """Under "Show where the network looks": the colour key (less → more evidence) and the
        overlay's opacity; shown while overlays are drawn."""
        self.key_row = QWidget()
        row = QHBoxLayout(self.key_row)
        row.setContentsMargins(22, 0, 0, 0)
        row.setSpacing(6)
        less, more = QLabel("less"), QLabel("more evidence")
        for label in (less, more):
            label.setObjectName("Caption")
        self.key = QLabel()
        self.key.setFixedSize(KEY_WIDTH, 12)
        self.key.setScaledContents(True)
        self.key.setToolTip("The colour of each place's share in the answer: blue least, red most")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(10, 100)
        self.opacity.setFixedWidth(90)
        self.opacity.setToolTip("Opacity of the overlay where the evidence is strongest")
        self.binder.field(
            self.opacity, "explain_opacity", to_widget=lambda v: round(v * 100), from_widget=lambda v: v / 100
        )
        self.opacity.valueChanged.connect(self._opacity_changed)
        caption = QLabel("opacity")
        caption.setObjectName("Caption")
        for widget in (less, self.key, more, caption, self.opacity):
            row.addWidget(widget)
        row.addStretch(1)
        self.key_row.setVisible(False)
        return self.key_row

    def set_model_description(self, text: str) -> None:
        self.model_label.setText(text)

    def reveal(self) -> None:
        self.reveal_requested.emit()

    def add_card(self, ticket: int, source: str | bytes) -> None:
        card = ResultCard(ticket, source)
        card.layers_requested.connect(self.layers_requested)
        card.set_status("waiting…")
        self.cards[ticket] = card
        self.list_layout.insertWidget(0, card)
        self.drop_hint.hide()

    def remove_card(self, ticket: int) -> None:
        card = self.cards.pop(ticket, None)
        if card is not None:
            card.deleteLater()
        self.drop_hint.setVisible(not self.cards)

    def show_removed(self, removed: int) -> None:
        """How many older cards were dropped to stay within the limit."""
        self.removed = removed
        self.removed_note.setText(
            f"Only the newest results are kept: {removed:,} older {'one was' if removed == 1 else 'ones were'} removed."
        )
        self.removed_note.setVisible(bool(removed))

    def _card(self, ticket: int) -> ResultCard | None:
        return self.cards.get(ticket)

    def set_original(self, ticket: int, image: Any) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_original(image)

    def set_status(self, ticket: int, text: str) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_status(text)

    def show_prediction(self, ticket: int, prediction: Any, model: str = "") -> None:
        if (card := self._card(ticket)) is not None:
            card.set_prediction(prediction, model)

    def show_error(self, ticket: int, message: str) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_error(message)

    def set_overlay(self, ticket: int, image: Any, how: str) -> None:
        if (card := self._card(ticket)) is not None:
            card.set_overlay(image, how, self.opacity.value() / 100)
            key = getattr(image, "key", None)
            if key is not None and self.key.pixmap().isNull():
                self.key.setPixmap(array_to_pixmap(np.asarray(key), KEY_WIDTH, smooth=True))
            self.key_row.setVisible(True)

    def _opacity_changed(self, percent: int) -> None:
        for card in self.cards.values():
            card.set_opacity(percent / 100)

    def clear_overlays(self) -> None:
        for card in self.cards.values():
            card.clear_overlay()
        self.key_row.setVisible(False)

    def show_layers(self, views: Any) -> None:
        from gui.panels.layer_views import LayerViewsDialog

        self._layers_dialog = LayerViewsDialog(views, self)
        self._layers_dialog.show()
