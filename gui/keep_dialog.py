"""Continue or fork a run, in one dialog: which checkpoint, how many epochs to add, and where
(the run's own folder, or a new run with the current settings).

Epochs are named the way the curves name them (1-based: "after epoch 80"), the dialog says
which epochs the choice trains before it starts, and Start asks the keep controller to check
the choice first: a choice that cannot run is refused here, in one line, with the dialog still
open, never after it closed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.widgets import Form, hint, set_state


def checkpoint_label(checkpoint: Any, latest: bool) -> str:
    """ "after epoch 80 (latest)", "after epoch 63 (best: lowest validation loss)"."""
    marks = [mark for mark, on in (("latest", latest), ("best: lowest validation loss", checkpoint.best)) if on]
    return f"after epoch {checkpoint.epoch + 1}" + (f" ({', '.join(marks)})" if marks else "")


class KeepDialog(QDialog):
    start_requested = Signal(str, str, int, int)  # path, "continue" | "fork", checkpoint epoch (0-based), more epochs

    def __init__(self, offer: Any, current_epochs: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.offer = offer
        self.setObjectName("KeepDialog")
        self.setWindowTitle("Continue or fork a run")
        self.setModal(True)
        name = Path(offer.run_dir).name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 12)
        layout.setSpacing(8)
        kept = ", ".join(str(c.epoch + 1) for c in offer.checkpoints)
        about = QLabel(
            f"<b>{name}</b><br>{offer.done} of {offer.planned} planned epochs done"
            + (f" · checkpoints kept after epoch {kept}" if kept else " · no checkpoint kept")
        )
        about.setWordWrap(True)
        layout.addWidget(about)
        self.continue_choice = QRadioButton("Continue this run, in its own folder")
        self.continue_choice.setToolTip("More epochs after its last one, with its own settings; the run grows")
        self.fork_choice = QRadioButton("Fork a new run, with the current settings")
        self.fork_choice.setToolTip(
            "A new run starting from the checkpoint you choose, with the current training, augmentation and "
            "freezing settings (its data and architecture stay the run's); the run itself is not changed"
        )
        group = QButtonGroup(self)
        for button in (self.continue_choice, self.fork_choice):
            group.addButton(button)
            layout.addWidget(button)
        self.continue_choice.setChecked(True)
        form = Form()
        self.checkpoint = QComboBox()
        for i, checkpoint in enumerate(offer.checkpoints):
            self.checkpoint.addItem(checkpoint_label(checkpoint, i == len(offer.checkpoints) - 1), checkpoint.epoch)
        self.checkpoint.setCurrentIndex(self.checkpoint.count() - 1)
        self.checkpoint.setToolTip("A run keeps the checkpoint of its last epoch and of its best one")
        form.addRow("Start from", self.checkpoint)
        self.extra = QSpinBox()
        self.extra.setRange(1, 100000)
        self.extra.setValue(max(1, min(current_epochs or 5, 100000)))
        self.extra.setSuffix(" more epochs")
        form.addRow("Train", self.extra)
        layout.addLayout(form)
        self.plan = hint("")
        layout.addWidget(self.plan)
        self.problem = QLabel("")
        self.problem.setObjectName("Status")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("PrimaryButton")
        buttons.accepted.connect(self._start)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for signal in (self.continue_choice.toggled, self.checkpoint.currentIndexChanged, self.extra.valueChanged):
            signal.connect(lambda *_: self._update())
        self._update()
        self.setMinimumWidth(420)

    @property
    def how(self) -> str:
        return "fork" if self.fork_choice.isChecked() else "continue"

    def _start_epoch(self) -> int:
        if self.how == "continue" or self.checkpoint.currentData() is None:
            return self.offer.checkpoints[-1].epoch if self.offer.checkpoints else -1
        return int(self.checkpoint.currentData())

    def _update(self) -> None:
        """Say what the choice trains, as the curves count epochs."""
        self.checkpoint.setEnabled(self.how == "fork")
        if self.how == "continue":
            self.checkpoint.setCurrentIndex(self.checkpoint.count() - 1)
        self.problem.hide()
        start = self._start_epoch()
        if start < 0:
            self.plan.setText("This run keeps no checkpoint: it cannot go on.")
            self.start_button.setEnabled(False)
            return
        first, total = start + 2, start + 1 + self.extra.value()
        span = f"epoch {first}" if first == total else f"epochs {first}–{total}"
        where = "in this run's folder" if self.how == "continue" else "as a new run"
        self.plan.setText(f"Trains {span} ({total} in all), {where}. The curves start with the epochs before.")
        self.start_button.setEnabled(True)

    def _start(self) -> None:
        self.start_requested.emit(self.offer.run_dir, self.how, self._start_epoch(), self.extra.value())

    def show_problem(self, text: str) -> None:
        self.problem.setText(f"⚠ {text}")
        set_state(self.problem, "error")
        self.problem.show()
        self.problem.setFocus(Qt.FocusReason.OtherFocusReason)
