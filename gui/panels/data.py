"""Data panel: pick a dataset (built-in, Keras, class folder, npz) and see what is in it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from gui.binding import Binder
from gui.imaging import array_to_pixmap, mosaic
from gui.session import ConfigStore
from gui.text import short_name
from gui.widgets import Form, heading, hint, panel_layout, set_state

SAMPLES_PER_CLASS = 8
MAX_CLASSES_SHOWN = 24


class DataPanel(QWidget):
    """Edits `config.data.*`; shows classes, split sizes, skipped files and sample thumbnails."""

    folder_chosen = Signal(str)  # a folder or file picked in a dialog (the window remembers where)
    class_names_chosen = Signal(list)  # names typed for classes that had none

    def __init__(
        self,
        store: ConfigStore,
        start_folder: Callable[[], str],
        datasets: Sequence[tuple[str, str, bool]],
        parent: QWidget | None = None,
    ) -> None:
        """`datasets`: (name, description, needs a download) of the sources to offer."""
        super().__init__(parent)
        self.store = store
        self._datasets = list(datasets)
        self._start_folder = start_folder
        self.binder = Binder(store)
        self._build()

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = panel_layout(self, "Dataset")
        self.combo = QComboBox()
        self.combo.setObjectName("DatasetCombo")
        for name, description, download in self._datasets:
            self.combo.addItem(name + ("  ⤓" if download else ""), name)
            self.combo.setItemData(self.combo.count() - 1, description, Qt.ItemDataRole.ToolTipRole)
        layout.addWidget(self.combo)
        buttons = QHBoxLayout()
        self.folder_button = QPushButton("Class folder…")
        self.folder_button.setToolTip("A folder with one sub-folder of images per class (e.g. cats/, dogs/)")
        self.folder_button.clicked.connect(self._choose_folder)
        self.npz_button = QPushButton("NPZ file…")
        self.npz_button.setToolTip("A NumPy .npz file with x_train/y_train (and optionally x_test/y_test) arrays")
        self.npz_button.clicked.connect(self._choose_npz)
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.npz_button)
        layout.addLayout(buttons)
        self.description = hint("")
        layout.addWidget(self.description)

        form = Form()
        self.size_spin = QSpinBox()
        self.size_spin.setRange(0, 1024)
        self.size_spin.setSpecialValueText("source size")
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip(
            "Side of the square images for folder and generated data; 'source size' keeps the default"
        )
        form.addRow("Image size", self.size_spin)
        self.resample_combo = QComboBox()
        self.resample_combo.addItem("bilinear (fast)", "bilinear")
        self.resample_combo.addItem("Lanczos (a little sharper)", "lanczos")
        self.resample_combo.setToolTip(
            "How the photos of a class folder are shrunk to the image size. Bilinear decodes "
            "about 2.5× faster; Lanczos is the rule of runs made before LayerLab recorded it"
        )
        form.addRow("Shrink photos", self.resample_combo)
        self.limit_check = QCheckBox("At most")
        self.limit_spin = QSpinBox()
        self.limit_spin.setRange(10, 10_000_000)
        self.limit_spin.setSingleStep(500)
        self.limit_spin.setValue(2000)
        self.limit_spin.setSuffix(" samples")
        self.limit_check.setToolTip("Train on a subset for quick experiments")
        self.limit_spin.setToolTip("Train on a subset for quick experiments: at most this many training samples")
        form.addRow(self.limit_check, self.limit_spin)
        self.test_check = QCheckBox("Test set")
        self.test_check.setToolTip(
            "For data without a test split of its own (digits, shapes, a plain class folder, an "
            ".npz without x_test): set aside a stratified, seeded share as a test set the model "
            "never sees, evaluated once at the end"
        )
        self.test_spin = QSpinBox()
        self.test_spin.setRange(5, 50)
        self.test_spin.setValue(20)
        self.test_spin.setSuffix(" % held out")
        self.test_spin.setToolTip(self.test_check.toolTip())
        form.addRow(self.test_check, self.test_spin)
        layout.addLayout(form)

        bind = self.binder
        bind.field(self.combo, "data.name", show=self._show_name)
        bind.field(self.size_spin, "data.image_size", to_widget=lambda v: v or 0, from_widget=lambda v: v or None)
        bind.field(self.resample_combo, "data.resample")
        bind.enable_when(self.resample_combo, lambda config: config.data.name.startswith("folder:"))
        bind.optional(self.limit_check, self.limit_spin, "data.limit")
        bind.optional(
            self.test_check,
            self.test_spin,
            "data.test_split",
            to_widget=lambda v: round(v * 100),
            from_widget=lambda v: v / 100,
        )
        bind.lockable(self.folder_button, self.npz_button)

        self.status = QLabel("")
        self.status.setObjectName("Status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.summary = QLabel("")
        self.summary.setObjectName("Summary")
        self.summary.setWordWrap(True)
        self.summary.hide()
        layout.addWidget(self.summary)
        self.skipped = QLabel("")
        self.skipped.setObjectName("Warning")
        self.skipped.setWordWrap(True)
        self.skipped.hide()
        layout.addWidget(self.skipped)

        self.name_button = QPushButton("Name the classes…")
        self.name_button.setToolTip(
            "This data numbers its classes (0, 1, 2…): give them names, used everywhere names appear. "
            "They are kept in a small file beside the data, never in it."
        )
        self.name_button.clicked.connect(self._name_classes)
        self.name_button.hide()
        layout.addWidget(self.name_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.binder.lockable(self.name_button)
        self._class_names: list[str] = []

        layout.addWidget(heading("Samples"))
        self.thumbs = QWidget()
        self.thumbs.setObjectName("Thumbnails")
        self.thumb_grid = QGridLayout(self.thumbs)
        self.thumb_grid.setContentsMargins(0, 0, 0, 0)
        self.thumb_grid.setHorizontalSpacing(8)
        self.thumb_grid.setVerticalSpacing(4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.thumbs)
        scroll.setMinimumHeight(160)
        layout.addWidget(scroll, 1)

    def _show_name(self, name: str) -> None:
        """Select `name`; a folder or file gets an entry of its own (short name, path in the tooltip)."""
        index = self.combo.findData(name)
        if index < 0:
            self.combo.addItem(short_name(name), name)
            index = self.combo.count() - 1
            self.combo.setItemData(index, name, Qt.ItemDataRole.ToolTipRole)
        self.combo.setCurrentIndex(index)
        text = str(self.combo.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")
        self.description.setText(re.sub(r"(\d) (\d{3})", "\\1\u00a0\\2", text))  # "1 797" never breaks

    # --- dialogs --------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a folder of class folders", self._start_folder())
        if path:
            self.folder_chosen.emit(path)
            self.store.update(**{"data.name": f"folder:{path}"})

    def _choose_npz(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose an npz file", self._start_folder(), "NumPy archives (*.npz)"
        )
        if path:
            self.folder_chosen.emit(path)
            self.store.update(**{"data.name": f"npz:{path}"})

    def set_locked(self, locked: bool) -> None:
        self.binder.set_locked(locked)

    # --- results of loading ---------------------------------------------------------------------
    def show_loading(self, name: str) -> None:
        self.status.setText(f"Loading {short_name(name)}…")
        set_state(self.status, "busy")

    def show_error(self, message: str) -> None:
        self.status.setText(f"⚠ {message}")
        set_state(self.status, "error")
        self.summary.clear()
        self.summary.hide()
        self.skipped.hide()
        self._clear_thumbs()

    def show_dataset(self, dataset: Any, samples: dict[int, np.ndarray], nameable: bool = False) -> None:
        """What the dataset holds; `nameable`: its classes may be named (they have numbers only)."""
        self._class_names = list(dataset.class_names)
        self.name_button.setVisible(nameable)
        self.name_button.setText(
            "Rename the classes…" if nameable and not _numbered(self._class_names) else "Name the classes…"
        )
        self.status.clear()
        set_state(self.status, "")
        counts = dataset.counts()
        h, w, c = dataset.input_shape
        split = " · ".join(f"{k} {v:,}" for k, v in counts.items() if v)
        self.summary.setText(f"<b>{dataset.num_classes} classes</b> · {h}×{w}×{c} pixels<br>{split}")
        self.summary.show()
        skipped = list(getattr(dataset, "skipped", []) or [])
        if skipped:
            self.skipped.setText(
                f"⚠ {len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped (could not be read) — hover for details"
            )
            shown = "\n".join(f"{Path(p).name}: {why}" for p, why in skipped[:40])
            more = f"\n… and {len(skipped) - 40} more" if len(skipped) > 40 else ""
            self.skipped.setToolTip(shown + more)
            self.skipped.show()
        else:
            self.skipped.hide()
        self._show_thumbs(dataset.class_names, samples)

    def _name_classes(self) -> None:
        from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout

        dialog = QDialog(self)
        dialog.setWindowTitle("Name the classes")
        layout = QVBoxLayout(dialog)
        layout.addWidget(
            hint(
                f"One name per line, in label order ({len(self._class_names)} classes: label 0 first). They are "
                "kept beside the data, never written into it, and used everywhere names appear."
            )
        )
        editor = QPlainTextEdit("\n".join(self._class_names))
        layout.addWidget(editor)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        self.names_dialog = dialog
        dialog.accepted.connect(lambda: self.class_names_chosen.emit(editor.toPlainText().rstrip().splitlines()))
        dialog.open()

    def _clear_thumbs(self) -> None:
        while self.thumb_grid.count():
            item = self.thumb_grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()

    def _show_thumbs(self, class_names: list[str], samples: dict[int, np.ndarray]) -> None:
        self._clear_thumbs()
        row = 0
        for index, name in enumerate(class_names[:MAX_CLASSES_SHOWN]):
            images = samples.get(index)
            label = QLabel(name)
            label.setObjectName("ClassName")
            label.setToolTip(name)
            label.setMaximumWidth(90)
            self.thumb_grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            picture = QLabel()
            if images is not None and len(images):
                strip = mosaic(np.asarray(images)[:SAMPLES_PER_CLASS], columns=SAMPLES_PER_CLASS, gap=1)
                scale = max(1, 28 // max(1, images.shape[1]))
                height = max(28, min(40, images.shape[1] * scale))
                picture.setPixmap(
                    array_to_pixmap(
                        strip, max(height * strip.shape[1] // strip.shape[0], height), smooth=images.shape[1] > 40
                    )
                )
            else:
                picture.setText("no samples")
            self.thumb_grid.addWidget(picture, row, 1, Qt.AlignmentFlag.AlignLeft)
            row += 1
        if len(class_names) > MAX_CLASSES_SHOWN:
            self.thumb_grid.addWidget(QLabel(f"… and {len(class_names) - MAX_CLASSES_SHOWN} more classes"), row, 1)
        self.thumb_grid.setColumnStretch(1, 1)
        self.thumb_grid.setRowStretch(row + 1, 1)


def _numbered(names: list[str]) -> bool:
    return names == [str(i) for i in range(len(names))]
