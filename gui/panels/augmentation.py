"""Augmentation panel: the random transformations of the training images, and a preview grid.

The panel writes `config.augmentation.*` and shows previews the window computes in a worker
(`gui.workers.preview_job`, which calls `engine.training.augmentation.preview`): a few training
images, each followed by augmented copies. It never calls TensorFlow itself.
"""
from __future__ import annotations

from typing import Any

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
    QVBoxLayout,
    QWidget,
)

from gui.config_store import ConfigStore, touches
from gui.imaging import array_to_pixmap
from gui.widgets import heading, hint

PREVIEW_IMAGES = 4
PREVIEW_COPIES = 4
TILE = 64

APPLIES = ("Applied to the training images only, drawn anew at random every epoch; validation and test images "
           "are never augmented, and neither are the images you classify. Augmentation turns the feature cache off "
           "(the frozen layers see different images every epoch).")

#: (config key, label, unit shown, config value per unit, upper bound in units, default when ticked, tooltip)
AMOUNTS = (
    ("rotation", "Rotation", "°", 1 / 360, 180.0, 10.0,
     "Turn each image by a random angle up to ± this many degrees (edges filled by reflection)."),
    ("zoom", "Zoom", "%", 1 / 100, 90.0, 10.0,
     "Zoom in or out at random by up to this share of the image size."),
    ("translation", "Shift", "%", 1 / 100, 50.0, 10.0,
     "Move each image sideways and up or down at random by up to this share of its size."),
    ("contrast", "Contrast", "%", 1 / 100, 90.0, 20.0,
     "Change the contrast at random by up to this much (stronger or flatter images)."),
)
FLIP_TIP = ("Mirror images at random. Horizontal suits photos of objects and animals; vertical or both suit "
            "images without an up (satellite, microscope). Digits and letters change meaning when mirrored: keep none.")


class AugmentationPanel(QWidget):
    """Writes `config.augmentation.*`; shows the preview it is given."""

    reseed_requested = Signal()   # "Other samples": the window draws new random copies

    def __init__(self, store: ConfigStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.checks: dict[str, QCheckBox] = {}
        self.spins: dict[str, QDoubleSpinBox] = {}
        self._scale = {key: scale for key, _, _, scale, _, _, _ in AMOUNTS}
        self.state = "empty"      # empty | waiting | off | shown | error (tests read it)
        self.last_preview: tuple[np.ndarray, np.ndarray] | None = None   # (originals, copies) shown
        self._build()
        self.store.changed.connect(self._on_config_changed)
        self._sync()

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        title = heading("Augmentation")
        title.setToolTip(APPLIES)
        layout.addWidget(title)
        note = hint("Random changes to the <b>training images only</b>, new every epoch: more variety, less "
                    "memorising. Validation and test images stay as they are.")
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
        self.flip.activated.connect(lambda i: self.store.update(**{"augmentation.flip": self.flip.itemText(i)}))
        grid.addWidget(flip_label, 0, 0)
        grid.addWidget(self.flip, 0, 1)
        for row, (key, label, unit, _scale, top, default, tip) in enumerate(AMOUNTS, start=1):
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
            check.toggled.connect(lambda on, k=key: self._write(k))
            spin.editingFinished.connect(lambda k=key: self._write(k))
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

    # --- config ↔ widgets -----------------------------------------------------------------------
    def _write(self, key: str) -> None:
        check, spin = self.checks[key], self.spins[key]
        value = round(spin.value() * self._scale[key], 6) if check.isChecked() else 0.0
        self.store.update(**{f"augmentation.{key}": value})

    def _on_config_changed(self, keys: set[str]) -> None:
        if touches(keys, "augmentation"):
            self._sync()

    def _sync(self) -> None:
        aug = self.store.config.augmentation
        self.flip.setCurrentText(aug.flip)
        for key, check in self.checks.items():
            value = float(getattr(aug, key))
            spin = self.spins[key]
            check.blockSignals(True)
            spin.blockSignals(True)
            check.setChecked(value > 0)
            if value > 0:  # when off, the box keeps the last size, ready to tick again
                spin.setValue(value / self._scale[key])
            spin.setEnabled(value > 0 and self.isEnabled())
            check.blockSignals(False)
            spin.blockSignals(False)

    def set_locked(self, locked: bool) -> None:
        self.flip.setEnabled(not locked)
        self.reseed.setEnabled(not locked)
        for key, check in self.checks.items():
            check.setEnabled(not locked)
            self.spins[key].setEnabled(not locked and check.isChecked())

    # --- preview --------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self.store.config.augmentation.enabled

    def _clear_tiles(self) -> None:
        while self.tiles.count():
            item = self.tiles.takeAt(0)
            if item.widget():
                item.widget().deleteLater()

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.caption.setText(text)
        self.caption.setProperty("state", state)
        self.caption.style().unpolish(self.caption)
        self.caption.style().polish(self.caption)

    def show_waiting(self, text: str) -> None:
        self._set_state("waiting", text)

    def show_off(self) -> None:
        self._clear_tiles()
        self.last_preview = None
        self.reseed.hide()  # nothing random to redraw
        self.grid_widget.hide()
        self._set_state("off", "All augmentation is off: the network sees every training image exactly as it is, "
                               "every epoch. Tick a transformation above to preview what it does.")

    def show_error(self, message: str) -> None:
        self._clear_tiles()
        self.grid_widget.hide()
        self._set_state("error", f"⚠ No preview: {message}")

    def show_preview(self, originals: np.ndarray, copies: np.ndarray, class_names: list[str], labels: list[int]) -> None:
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
        self._set_state("shown", f"Each row: a training image, then {k} random versions of it — what the network "
                                 "may see in different epochs.")

    def tile_count(self) -> int:
        """How many image tiles the grid shows (tests)."""
        return sum(1 for i in range(self.tiles.count())
                   if isinstance(self.tiles.itemAt(i).widget(), QLabel) and self.tiles.itemAt(i).widget().pixmap() is not None
                   and not self.tiles.itemAt(i).widget().pixmap().isNull())


def pick_preview_images(samples: dict[int, Any], count: int = PREVIEW_IMAGES) -> tuple[np.ndarray, list[int]] | None:
    """Up to `count` sample images from different classes (first image of each), with their labels."""
    chosen: list[np.ndarray] = []
    labels: list[int] = []
    depth = 0
    while len(chosen) < count:
        added = False
        for label in sorted(samples):
            images = samples[label]
            if images is not None and len(images) > depth and len(chosen) < count:
                chosen.append(np.asarray(images[depth]))
                labels.append(int(label))
                added = True
        if not added:
            break
        depth += 1
    if not chosen:
        return None
    return np.stack(chosen), labels
