"""After training: the final metrics and a gallery of the validation images the model got wrong.

The gallery is a `QListView` in icon mode over a `ThumbnailListModel` (gui/panels/thumbnails.py):
10 000 misclassified images cost 10 000 rows of plain data, not 10 000 widgets, and a picture is
decoded only when its row is painted (the model asks for it with `thumbnails_wanted`; the results
controller decodes it in the background and hands it back with `set_thumbnail`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from gui import theme
from gui.binding import Binder
from gui.panels.confusion import ConfusionMatrixView
from gui.panels.per_class import PerClassTable
from gui.panels.thumbnails import ThumbnailListModel, gallery_view
from gui.session import EventedStore
from gui.widgets import ElidedLabel, heading, hint, panel_layout


def _stat(title: str) -> tuple[QFrame, QLabel]:
    frame = QFrame()
    frame.setObjectName("StatTile")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(10, 8, 10, 8)
    layout.setSpacing(0)
    value = QLabel("–")
    value.setObjectName("StatValue")
    name = QLabel(title)
    name.setObjectName("Caption")
    layout.addWidget(value)
    layout.addWidget(name)
    return frame, value


def _caption(entry: Any) -> str:
    row = f"\n{_row(entry)}" if _row(entry) else ""
    return f"{entry.true} → {entry.predicted}\n{entry.confidence:.0%} sure{row}"


def _row(entry: Any) -> str:
    """ "x_train[1234]": where an array sample lies in the user's own data ("" for files)."""
    array, row = getattr(entry, "array", None), getattr(entry, "row", None)
    return f"{array}[{row}]" if array is not None and row is not None else ""


def _tooltip(entry: Any, picture_missing: bool) -> str:
    tip = f"true: {entry.true}\npredicted: {entry.predicted} ({entry.confidence:.1%})"
    if entry.source:
        tip += f"\n{entry.source}"
    elif _row(entry):
        tip += f"\n{_row(entry)} (its row in the data before the split)"
    if picture_missing:
        tip += "\n(image not available: " + ("the file cannot be read)" if entry.source else "load this run's dataset)")
    return tip


class ErrorsPanel(QWidget):
    """Final metrics, confusion matrix (click a cell to filter) and the misclassified gallery."""

    title_changed = Signal(str)  # "Errors (9)": for the tab that holds the panel

    def __init__(self, preferences: EventedStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = panel_layout(self, "Final metrics")
        self.source = ElidedLabel("")
        self.source.setObjectName("Source")
        layout.addWidget(self.source)
        stats = QGridLayout()
        stats.setSpacing(6)
        self.values: dict[str, QLabel] = {}
        self.tiles: dict[str, QFrame] = {}
        for i, (key, title) in enumerate(
            (
                ("val_accuracy", "validation accuracy"),
                ("val_loss", "validation loss"),
                ("train_accuracy", "training accuracy"),
                ("train_loss", "training loss"),
                ("test_accuracy", "test accuracy"),
                ("test_loss", "test loss"),
            )
        ):
            frame, value = _stat(title)
            self.values[key], self.tiles[key] = value, frame
            stats.addWidget(frame, i // 2, i % 2)
        layout.addLayout(stats)
        self.note = hint("")
        layout.addWidget(self.note)
        layout.addWidget(self._build_confusion())
        head = QHBoxLayout()
        head.addWidget(heading("Misclassified"))
        head.addStretch(1)
        self.explain = QCheckBox("where it looked")
        self.explain.setToolTip("Draw over each image where the network looked for its (wrong) answer")
        head.addWidget(self.explain)
        if preferences is not None:
            self.binder = Binder(preferences)
            self.binder.field(self.explain, "explain")
        else:
            self.explain.hide()
        self.count = QLabel("")
        self.count.setObjectName("Count")
        head.addWidget(self.count)
        layout.addLayout(head)
        self.empty = hint("")
        layout.addWidget(self.empty)
        self.gallery_model = ThumbnailListModel(lambda entry: entry.index, _caption, _tooltip, self)
        self.gallery = gallery_view(self.gallery_model, "ErrorsGallery")
        layout.addWidget(self.gallery, 1)
        self.thumbnails_wanted = self.gallery_model.thumbnails_wanted
        self.metrics: Any = None
        self.class_names: list[str] = []
        self.filter: tuple[str, str] | None = None
        self._wrong: list[Any] = []
        self.clear()

    def _build_confusion(self) -> QWidget:
        self.confusion_box = QWidget()
        box = QVBoxLayout(self.confusion_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        top = QHBoxLayout()
        top.addWidget(heading("Where it goes wrong"))
        top.addStretch(1)
        self.show_all = QLabel(
            f'<a href="#all" style="color: {theme.ACCENT}; text-decoration: none;">show all errors</a>'
        )
        self.show_all.setObjectName("Caption")
        self.show_all.linkActivated.connect(lambda _link: self.set_filter(None))
        self.show_all.hide()
        top.addWidget(self.show_all, 0, Qt.AlignmentFlag.AlignBottom)
        box.addLayout(top)
        self.confusion = ConfusionMatrixView()
        self.confusion.cell_clicked.connect(self._on_cell_clicked)
        self.per_class = PerClassTable()
        self.views = QTabWidget()
        self.views.setObjectName("ErrorViews")
        matrix_page = QWidget()
        matrix_layout = QVBoxLayout(matrix_page)
        matrix_layout.setContentsMargins(0, 4, 0, 0)
        matrix_layout.addWidget(self.confusion)
        self.views.addTab(matrix_page, "Matrix")
        self.views.addTab(self.per_class, "Per class")
        self.views.setTabToolTip(1, "Precision, recall, F1 and support of each class, sortable")
        box.addWidget(self.views)
        legend = QLabel(
            f'<span style="color:{theme.ACCENT}">■</span> correct &nbsp; '
            f'<span style="color:{theme.BAD}">■</span> confused &nbsp;·&nbsp; click a red cell to filter'
        )
        legend.setToolTip(
            "Rows: true class, columns: predicted class. The shade is the cell's share of its true class."
        )
        legend.setObjectName("Caption")
        legend.setWordWrap(True)
        box.addWidget(legend)
        return self.confusion_box

    # --- the results controller's view -------------------------------------------------------------
    def clear(self, message: str = "Train a model to see where it goes wrong.") -> None:
        self.metrics = None
        self._wrong = []
        self.filter = None
        for value in self.values.values():
            value.setText("–")
        self._show_test_tiles(None)
        self.count.setText("")
        self._set_note(message)
        self.confusion.set_matrix([])
        self.confusion_box.hide()
        self.show_all.hide()
        self.empty.hide()
        self.gallery_model.set_entries([], forget_pictures=True)
        self.source.set_text("")
        self.title_changed.emit("Errors")

    def show_metrics(
        self,
        metrics: Any,
        class_names: list[str] | None = None,
        note: str = "",
        per_class: list[Any] | None = None,
        title: str = "",
    ) -> None:
        """Fill the tiles, the confusion matrix (when the metrics have one) and the gallery, naming
        the run they are of (`title`)."""
        self.metrics = metrics
        self.source.set_text(f"Of {title}" if title else "")
        for key, label in self.values.items():
            value = getattr(metrics, key)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                label.setText("–")
            else:
                label.setText(f"{value:.1%}" if "accuracy" in key else f"{value:.4f}")
        self._show_test_tiles(metrics)
        self._wrong = list(metrics.misclassified)
        self.filter = None
        self.show_all.hide()
        self._set_note(note)
        matrix = metrics.confusion_matrix
        if matrix and all(len(row) == len(matrix) for row in matrix):
            self.confusion.set_matrix(matrix, class_names)
            self.class_names = list(self.confusion.names)
            self.per_class.show_rows(list(per_class or metrics.per_class), list(metrics.test_per_class))
            self.confusion_box.show()
        else:
            self.confusion.set_matrix([])
            self.class_names = []
            self.confusion_box.hide()
        self._fill_gallery(forget_pictures=True)
        self.title_changed.emit(f"Errors ({metrics.misclassified_count})")

    def _show_test_tiles(self, metrics: Any) -> None:
        """Test figures when the run was evaluated on a test set (said plainly when it validated on it)."""
        tested = bool(metrics is not None and metrics.test_count)
        for key in ("test_accuracy", "test_loss"):
            self.tiles[key].setVisible(tested)
        if tested:
            caption = (
                "test = validation: no untouched test set"
                if metrics.test_is_validation
                else f"test, {metrics.test_count:,} images never seen"
            )
            self.tiles["test_accuracy"].findChildren(QLabel)[1].setText(caption)

    def set_thumbnail(self, index: int, image: np.ndarray | None) -> None:
        self.gallery_model.set_thumbnail(index, image)

    def forget_thumbnails(self) -> None:
        """Ask again for every picture (they are drawn differently now)."""
        self.gallery_model.set_entries(self.gallery_model.entries, forget_pictures=True)

    # --- filtering by a confusion cell ---------------------------------------------------------------
    def _set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _on_cell_clicked(self, true: int, predicted: int) -> None:
        pair = (self.class_names[true], self.class_names[predicted])
        self.set_filter(None if self.filter == pair else pair)

    def set_filter(self, pair: tuple[str, str] | None) -> None:
        """Show only the errors of one (true, predicted) pair of class names; None shows them all."""
        self.filter = pair
        cell = None
        if pair is not None and pair[0] in self.class_names and pair[1] in self.class_names:
            cell = (self.class_names.index(pair[0]), self.class_names.index(pair[1]))
        self.confusion.set_selected(cell)
        self.show_all.setVisible(pair is not None)
        self._fill_gallery(forget_pictures=False)

    def shown_errors(self) -> list[Any]:
        """The misclassified entries the gallery shows (all of them, or the filtered pair)."""
        if self.filter is None:
            return list(self._wrong)
        true, predicted = self.filter
        return [e for e in self._wrong if e.true == true and e.predicted == predicted]

    def _fill_gallery(self, forget_pictures: bool) -> None:
        metrics = self.metrics
        wrong = self.shown_errors()
        total, count = metrics.val_count, metrics.misclassified_count
        if self.filter is not None:
            self.count.setText(f"{len(wrong):,} of {count:,} errors")
        else:
            self.count.setText(f"{count:,} errors / {total:,}" if total else f"{count:,} errors")
        self.gallery_model.set_entries(wrong, forget_pictures)
        if wrong:
            self.empty.hide()
        else:
            self.empty.setText(
                f"No listed errors for {self.filter[0]} → {self.filter[1]}."
                if self.filter is not None
                else "No validation errors."
                if total
                else "No validation data."
            )
            self.empty.show()
