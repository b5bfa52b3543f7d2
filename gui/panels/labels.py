"""The label-issue gallery: samples whose label is likely wrong, most suspicious first, with the
given and the suggested label; exclude a sample or relabel it, and the next training honours it."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QMenu, QPushButton, QSpinBox, QWidget

from gui.panels.thumbnails import ThumbnailListModel, gallery_view
from gui.widgets import heading, hint, panel_layout

TIP = (
    "Each sample is judged by a model that never saw it: the data is split into k folds, k models are trained "
    "on the other folds, and confident learning (cleanlab) ranks the samples whose given label the models "
    "disagree with most. The decisions are saved beside the dataset, never in your files."
)


def _key(issue: Any) -> Any:
    return issue.key


class LabelsPanel(QWidget):
    find_requested = Signal(int, int)  # folds, epochs per fold
    decision_requested = Signal(object, str, str)  # issue, "exclude" | "relabel" | "keep", new label
    thumbnails_wanted = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = panel_layout(self)
        top = QHBoxLayout()
        title = heading("Labels")
        title.setToolTip(TIP)
        top.addWidget(title)
        top.addStretch(1)
        self.folds = QSpinBox()
        self.folds.setRange(2, 10)
        self.folds.setValue(4)
        self.folds.setSuffix(" folds")
        self.folds.setToolTip("How many models judge the data (each on the part it did not train on)")
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 1000)
        self.epochs.setSpecialValueText("epochs as set")
        self.epochs.setSuffix(" epochs")
        self.epochs.setToolTip("Epochs per fold ('epochs as set': the Training tab's)")
        self.find_button = QPushButton("Find")
        self.find_button.setToolTip(TIP)
        self.find_button.clicked.connect(lambda: self.find_requested.emit(self.folds.value(), self.epochs.value()))
        top.addWidget(self.find_button)
        layout.addLayout(top)
        options = QHBoxLayout()
        options.addWidget(self.folds)
        options.addWidget(self.epochs)
        options.addStretch(1)
        layout.addLayout(options)
        self.status = hint(
            "Find samples whose label is probably wrong: a model judges each one without having trained on it."
        )
        layout.addWidget(self.status)
        self.model = ThumbnailListModel(_key, self._caption, self._tooltip, self)
        self.model.thumbnails_wanted.connect(self.thumbnails_wanted)
        self.gallery = gallery_view(self.model, "LabelGallery", selectable=True)
        self.gallery.selectionModel().selectionChanged.connect(lambda *_: self._show_actions())
        layout.addWidget(self.gallery, 1)
        actions = QHBoxLayout()
        self.exclude = QPushButton("Exclude")
        self.exclude.setToolTip("Leave this sample out of the next trainings")
        self.exclude.clicked.connect(lambda: self._decide("exclude"))
        self.relabel = QPushButton("Relabel")
        self.relabel.clicked.connect(lambda: self._decide("relabel", self.selected().suggested))
        self.other = QPushButton("Other…")
        self.other.setToolTip("Relabel as another class")
        self.other.clicked.connect(self._other_menu)
        self.keep = QPushButton("Keep")
        self.keep.setToolTip("The label is right: keep it as it is")
        self.keep.setObjectName("FlatButton")
        self.keep.clicked.connect(lambda: self._decide("keep"))
        for button in (self.exclude, self.relabel, self.other, self.keep):
            actions.addWidget(button)
        layout.addLayout(actions)
        self.decisions = hint("")
        layout.addWidget(self.decisions)
        self.class_names: list[str] = []
        self._marks: dict[Any, str] = {}
        self._show_actions()

    # --- the labels controller's view ---------------------------------------------------------------
    def show_waiting(self, text: str) -> None:
        self.status.setText(text)
        self.model.set_entries([], forget_pictures=True)
        self._marks.clear()
        self._show_actions()

    def show_issues(self, issues: list[Any], class_names: list[str], title: str = "") -> None:
        self.class_names = list(class_names)
        self._marks.clear()
        self.model.set_entries(issues, forget_pictures=True)
        where = f"In {title}: " if title else ""
        self.status.setText(
            f"{where}{len(issues):,} samples look mislabelled, most suspicious first: select one, then "
            "exclude it or relabel it."
            if issues
            else f"{where}no label looks wrong."
        )
        self._show_actions()

    def set_thumbnail(self, key: Any, image: Any) -> None:
        self.model.set_thumbnail(key, image)

    def mark(self, key: Any, action: str, label: str) -> None:
        self._marks[key] = {"exclude": "✕ excluded", "relabel": f"→ {label}", "keep": "✓ kept"}.get(action, "")
        self.model.refresh(key)

    def show_decisions(self, excluded: int, relabelled: int, sidecar: str) -> None:
        self.decisions.setText(f"{excluded} excluded · {relabelled} relabelled — the next training honours them")
        self.decisions.setToolTip(f"Saved in {sidecar} (your images and files are never changed)")

    # --- selection and actions ----------------------------------------------------------------------
    def selected(self) -> Any:
        rows = self.gallery.selectionModel().selectedIndexes()
        return self.model.entries[rows[0].row()] if rows else None

    def _show_actions(self) -> None:
        issue = self.selected()
        for button in (self.exclude, self.relabel, self.other, self.keep):
            button.setEnabled(issue is not None)
        self.relabel.setText(f"Relabel as {issue.suggested}" if issue is not None else "Relabel")

    def _decide(self, action: str, label: str = "") -> None:
        issue = self.selected()
        if issue is not None:
            self.decision_requested.emit(issue, action, label)

    def _other_menu(self) -> None:
        issue = self.selected()
        if issue is None:
            return
        menu = QMenu(self)
        for name in self.class_names:
            if name != issue.given:
                menu.addAction(name, lambda n=name: self._decide("relabel", n))
        menu.exec(self.other.mapToGlobal(self.other.rect().bottomLeft()))

    def _caption(self, issue: Any) -> str:
        mark = self._marks.get(_key(issue), "")
        return f"{issue.given} → {issue.suggested}\n{mark or f'{issue.score:.0%} suspect'}"

    def _tooltip(self, issue: Any, picture_missing: bool) -> str:
        where = issue.name  # its file, "x_train[1234]" of the user's arrays, or its place in a split
        return (
            f"given label: {html.escape(issue.given)}\nthe models say: {html.escape(issue.suggested)}\n"
            f"how likely the label is wrong: {issue.score:.0%}\n{where}"
        )

    def set_locked(self, locked: bool) -> None:
        self.find_button.setEnabled(not locked)
