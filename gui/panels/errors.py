"""After training: the final metrics and a gallery of the validation images the model got wrong."""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from gui import theme
from gui.panels.confusion import ConfusionMatrixView
from gui.widgets import heading, hint, image_tile

MAX_SHOWN = 120
TILE = 72
COLUMNS = 4

ImageLookup = Callable[[dict[str, Any]], "np.ndarray | None"]


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


class ErrorsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(heading("Final metrics"))
        stats = QGridLayout()
        stats.setSpacing(6)
        self.values: dict[str, QLabel] = {}
        for i, (key, title) in enumerate((("val_accuracy", "validation accuracy"), ("val_loss", "validation loss"),
                                          ("train_accuracy", "training accuracy"), ("train_loss", "training loss"))):
            frame, value = _stat(title)
            self.values[key] = value
            stats.addWidget(frame, i // 2, i % 2)
        layout.addLayout(stats)
        self.note = hint("")
        layout.addWidget(self.note)
        self.confusion_box = QWidget()
        box = QVBoxLayout(self.confusion_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        top = QHBoxLayout()
        top.addWidget(heading("Confusion matrix"))
        top.addStretch(1)
        self.show_all = QLabel('<a href="#all" style="color: %s; text-decoration: none;">show all errors</a>' % theme.ACCENT)
        self.show_all.setObjectName("Caption")
        self.show_all.linkActivated.connect(lambda _link: self.set_filter(None))
        self.show_all.hide()
        top.addWidget(self.show_all, 0, Qt.AlignmentFlag.AlignBottom)
        box.addLayout(top)
        self.confusion = ConfusionMatrixView()
        self.confusion.cell_clicked.connect(self._on_cell_clicked)
        box.addWidget(self.confusion)
        legend = QLabel(f'<span style="color:{theme.ACCENT}">■</span> correct &nbsp; '
                        f'<span style="color:{theme.BAD}">■</span> confused &nbsp;·&nbsp; click a red cell to filter')
        legend.setToolTip("Rows: true class, columns: predicted class. "
                          "The shade is the cell's share of its true class.")
        legend.setObjectName("Caption")
        legend.setWordWrap(True)
        box.addWidget(legend)
        layout.addWidget(self.confusion_box)
        head = QHBoxLayout()
        head.addWidget(heading("Misclassified"))
        head.addStretch(1)
        self.count = QLabel("")
        self.count.setObjectName("Count")
        head.addWidget(self.count)
        layout.addLayout(head)
        self.gallery = QWidget()
        self.grid = QGridLayout(self.gallery)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(10)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.gallery)
        layout.addWidget(scroll, 1)
        self.metrics: dict[str, Any] = {}
        self.class_names: list[str] = []
        self.filter: tuple[str, str] | None = None
        self._wrong: list[dict[str, Any]] = []
        self._image_for: ImageLookup = lambda _entry: None
        self.clear()

    def clear(self, message: str = "Train a model to see where it goes wrong.") -> None:
        self.metrics = {}
        self._wrong = []
        self.filter = None
        for value in self.values.values():
            value.setText("–")
        self.count.setText("")
        self._set_note(message)
        self.confusion.set_matrix([])
        self.confusion_box.hide()
        self.show_all.hide()
        self._clear_grid()

    def _clear_grid(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().hide()          # gone at once, not only when the deferred delete runs
                item.widget().deleteLater()

    def show_metrics(self, metrics: dict[str, Any], image_for: ImageLookup, note: str = "",
                     class_names: list[str] | None = None) -> None:
        """Fill the tiles, the confusion matrix (when `metrics` has one) and the gallery.
        `metrics`: an `engine.runs.RunMetrics`, or its JSON form."""
        if not isinstance(metrics, dict):
            metrics = metrics.to_json_dict()
        self.metrics = dict(metrics)
        for key, label in self.values.items():
            value = metrics.get(key)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                label.setText("–")
            elif "accuracy" in key:
                label.setText(f"{value:.1%}")
            else:
                label.setText(f"{value:.4f}")
        self._wrong = list(metrics.get("misclassified") or [])
        self._image_for = image_for
        self.filter = None
        self.show_all.hide()
        self._set_note(note)
        matrix = metrics.get("confusion_matrix") or []
        if matrix and all(len(row) == len(matrix) for row in matrix):
            self.confusion.set_matrix(matrix, class_names)
            self.class_names = list(self.confusion.names)
            self.confusion_box.show()
        else:
            self.confusion.set_matrix([])
            self.class_names = []
            self.confusion_box.hide()
        self._fill_gallery()

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
        self._fill_gallery()

    def shown_errors(self) -> list[dict[str, Any]]:
        """The misclassified entries the gallery shows (all of them, or the filtered pair)."""
        if self.filter is None:
            return list(self._wrong)
        true, predicted = self.filter
        return [e for e in self._wrong if str(e.get("true")) == true and str(e.get("predicted")) == predicted]

    def _fill_gallery(self) -> None:
        metrics = self.metrics
        wrong = self.shown_errors()
        total = metrics.get("val_count")
        count = metrics.get("misclassified_count", len(self._wrong))
        if self.filter is not None:
            self.count.setText(f"{len(wrong):,} of {count:,} errors")
        else:
            self.count.setText(f"{count:,} errors / {total:,}" if isinstance(total, int) else f"{count:,} errors")
        self._clear_grid()
        if not wrong:
            if self.filter is not None:
                text = f"No listed errors for {self.filter[0]} → {self.filter[1]}."
            else:
                text = "No validation errors." if total else "No validation data."
            self.grid.addWidget(hint(text), 0, 0, 1, COLUMNS)
            return
        image_for = self._image_for
        for i, entry in enumerate(wrong[:MAX_SHOWN]):
            image = image_for(entry)
            caption = f"{entry.get('true')} → {entry.get('predicted')}\n{float(entry.get('confidence', 0)):.0%} sure"
            tip = f"true: {entry.get('true')}\npredicted: {entry.get('predicted')} ({float(entry.get('confidence', 0)):.1%})"
            if entry.get("source"):
                tip += f"\n{entry['source']}"
            if image is None:
                tile = QLabel(caption)
                tile.setObjectName("Caption")
                tile.setFixedWidth(TILE + 4)
                tile.setWordWrap(True)
                tile.setToolTip(tip + "\n(image not available: load this run's dataset)")
            else:
                tile = image_tile(image, TILE, caption, tip)
            self.grid.addWidget(tile, i // COLUMNS, i % COLUMNS, Qt.AlignmentFlag.AlignTop)
        if len(wrong) > MAX_SHOWN:
            self.grid.addWidget(hint(f"… {len(wrong) - MAX_SHOWN} more not shown"), MAX_SHOWN // COLUMNS + 1, 0, 1, COLUMNS)
        self.grid.setRowStretch(self.grid.rowCount(), 1)
        self.grid.setColumnStretch(COLUMNS, 1)
