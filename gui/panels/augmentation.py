"""Augmentation panel: the random transformations of the training images, and a preview grid.

The panel writes `config.augmentation.*` and shows the previews the preview controller computes in
the background (gui/controllers/preview.py): a few training images, each followed by augmented
copies. It never calls TensorFlow itself.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from gui.binding import Binder
from gui.imaging import array_to_pixmap
from gui.session import ConfigStore
from gui.widgets import heading, hint, panel_layout, set_state

TILE = 64

APPLIES = (
    "Applied to the training images only, drawn anew at random every epoch; validation and test images "
    "are never augmented, and neither are the images you classify. Augmentation turns the feature cache off "
    "(the frozen layers see different images every epoch)."
)

#: (config key, label, unit shown, config value per unit, upper bound in units, default when ticked, tooltip)
AMOUNTS = (
    (
        "rotation",
        "Rotation",
        "°",
        1 / 360,
        180.0,
        10.0,
        "Turn each image by a random angle up to ± this many degrees (edges filled by reflection).",
    ),
    ("zoom", "Zoom", "%", 1 / 100, 90.0, 10.0, "Zoom in or out at random by up to this share of the image size."),
    (
        "translation",
        "Shift",
        "%",
        1 / 100,
        50.0,
        10.0,
        "Move each image sideways and up or down at random by up to this share of its size.",
    ),
    (
        "contrast",
        "Contrast",
        "%",
        1 / 100,
        90.0,
        20.0,
        "Change the contrast at random by up to this much (stronger or flatter images).",
    ),
)
FLIP_TIP = (
    "Mirror images at random. Horizontal suits photos of objects and animals; vertical or both suit "
    "images without an up (satellite, microscope). Digits and letters change meaning when mirrored: keep none."
)


class AugmentationPanel(QWidget):
    """Writes `config.augmentation.*`; shows the preview it is given."""

    reseed_requested = Signal()  # "Other samples": the window draws new random copies

    def __init__(self, store: ConfigStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.binder = Binder(store)
        self.checks: dict[str, QCheckBox] = {}
        self.spins: dict[str, QDoubleSpinBox] = {}
        self.state = "empty"  # empty | waiting | off | shown | error (tests read it)
        self.last_preview: tuple[np.ndarray, np.ndarray] | None = None  # (originals, copies) shown
        self._build()

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = panel_layout(self)
        title = heading("Augmentation")
        title.setToolTip(APPLIES)
        layout.addWidget(title)
        note = hint(
            "Random changes to the <b>training images only</b>, new every epoch: more variety, less "
            "memorising. Validation and test images stay as they are."
        )
        note.setToolTip(APPLIES)
        layout.addWidget(note)

        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(6)
        flip_label = QLabel("Flip")
        flip_label.setToolTip(FLIP_TIP)
        self.flip = QComboBox()
        self.flip.addItems(["none", "horizontal", "vertical", "both"])
        self.flip.setToolTip(FLIP_TIP)
        self.binder.field(self.flip, "augmentation.flip")
        grid.addWidget(flip_label, 0, 0)
        grid.addWidget(self.flip, 0, 1)
        for row, (key, label, unit, scale, top, default, tip) in enumerate(AMOUNTS, start=1):
            check = QCheckBox(label)
            check.setToolTip(f"{tip}\n\n{APPLIES}")
            spin = QDoubleSpinBox()
            spin.setRange(0.5 if unit == "°" else 1.0, top)
            spin.setDecimals(0 if unit == "%" else 1)
            spin.setSingleStep(5.0)
            spin.setValue(default)
            spin.setPrefix("± ")
            spin.setSuffix(f" {unit}" if unit == "%" else unit)
            spin.setToolTip(tip)
            self.binder.optional(
                check,
                spin,
                f"augmentation.{key}",
                off=0.0,
                to_widget=lambda v, s=scale: v / s,
                from_widget=lambda v, s=scale: round(v * s, 6),
            )
            self.checks[key], self.spins[key] = check, spin
            grid.addWidget(check, row, 0)
            grid.addWidget(spin, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addLayout(grid)

        head = QHBoxLayout()
        head.addWidget(heading("Preview"))
        head.addStretch(1)
        self.reseed = QPushButton("↻ Other samples")
        self.reseed.setObjectName("FlatButton")
        self.reseed.setToolTip("Draw other random transformations of the same images")
        self.reseed.clicked.connect(self.reseed_requested)
        self.binder.lockable(self.reseed)
        head.addWidget(self.reseed)
        layout.addLayout(head)
        self.caption = hint("")
        layout.addWidget(self.caption)
        self.grid_widget = QWidget()
        self.grid_widget.setObjectName("AugmentPreview")
        self.grid_widget.setToolTip(APPLIES)
        self.tiles = QGridLayout(self.grid_widget)
        self.tiles.setContentsMargins(0, 0, 0, 0)
        self.tiles.setSpacing(4)
        layout.addWidget(self.grid_widget)
        layout.addStretch(1)
        self.show_waiting("Waiting for the dataset…")

    def set_locked(self, locked: bool) -> None:
        self.binder.set_locked(locked)

    # --- preview --------------------------------------------------------------------------------
    def _clear_tiles(self) -> None:
        while self.tiles.count():
            item = self.tiles.takeAt(0)
            if item.widget():
                item.widget().deleteLater()

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.caption.setText(text)
        set_state(self.caption, state)

    def show_waiting(self, text: str) -> None:
        self._set_state("waiting", text)

    def show_off(self) -> None:
        self._clear_tiles()
        self.last_preview = None
        self.reseed.hide()  # nothing random to redraw
        self.grid_widget.hide()
        self._set_state(
            "off",
            "All augmentation is off: the network sees every training image exactly as it is, "
            "every epoch. Tick a transformation above to preview what it does.",
        )

    def show_error(self, message: str) -> None:
        self._clear_tiles()
        self.grid_widget.hide()
        self._set_state("error", f"⚠ No preview: {message}")

    def show_preview(
        self, originals: np.ndarray, copies: np.ndarray, class_names: list[str], labels: list[int]
    ) -> None:
        """`originals` (N, H, W, C) and `copies` (N, K, H, W, C), uint8."""
        self._clear_tiles()
        self.last_preview = (originals, copies)
        n, k = copies.shape[:2]
        h = originals.shape[1]
        smooth = h > TILE
        for col, title in enumerate(["original"] + [f"random {i + 1}" for i in range(k)]):
            label = QLabel(title)
            label.setObjectName("Caption")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.tiles.addWidget(label, 0, col)
        for r in range(n):
            name = class_names[labels[r]] if 0 <= labels[r] < len(class_names) else str(labels[r])
            for c in range(k + 1):
                image = originals[r] if c == 0 else copies[r, c - 1]
                tile = QLabel()
                tile.setObjectName("ImageTile" if c == 0 else "AugmentTile")
                tile.setFixedSize(TILE + 4, TILE + 4)
                tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
                tile.setPixmap(array_to_pixmap(image, TILE, smooth=smooth))
                tile.setToolTip(f"class {name}" + ("" if c == 0 else f" — augmented copy {c}"))
                self.tiles.addWidget(tile, r + 1, c)
        self.tiles.setColumnStretch(k + 1, 1)
        self.grid_widget.show()
        self.reseed.show()
        self._set_state(
            "shown",
            f"Each row: a training image, then {k} random versions of it — what the network "
            "may see in different epochs.",
        )

    def tile_count(self) -> int:
        """How many image tiles the grid shows (tests)."""
        return sum(
            1
            for i in range(self.tiles.count())
            if isinstance(self.tiles.itemAt(i).widget(), QLabel)
            and self.tiles.itemAt(i).widget().pixmap() is not None
            and not self.tiles.itemAt(i).widget().pixmap().isNull()
        )
