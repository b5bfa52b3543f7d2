"""Training settings (left column) and the run bar (Train/Stop, progress, time left, device)."""
from __future__ import annotations

import math
from typing import Any, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.config import OPTIMIZERS
from gui.config_store import ConfigStore, touches
from gui.widgets import heading, hint

TIPS = {
    "optimizer": "How the weights move after each batch. Adam adapts the step per weight and is a safe start; "
                 "SGD with momentum is the classic; RMSprop sits in between.",
    "lr": "How big each update step is. Too high: the loss jumps around or explodes; too low: it crawls. "
          "Arrow keys step through 1, 2, 5 × 10ⁿ.",
    "batch": "Images per update step. Bigger batches run faster per image but update less often.",
    "epochs": "How many times training walks through the whole training set.",
    "val": "The share of the data held back to check the model on images it never trained on "
           "(used when the dataset has no validation split of its own).",
    "seed": "Fixes the random choices (split, initial weights, shuffling) so a run can be repeated.",
    "early": "Stop when the validation loss has not improved for 'patience' epochs, and keep the best weights.",
    "stage2": "Staged fine-tuning, the classic transfer-learning recipe: first train only the new head with the "
              "pretrained base frozen (the epochs above), then unfreeze the base's last block and go on at a much "
              "lower learning rate, so the pretrained features adapt a little without being wrecked.",
    "stage2_epochs": "Stage 2 length: how many more epochs to train after unfreezing ('off': no second stage). "
                     "The plots mark where it starts.",
    "stage2_unfreeze": "How many of the last frozen layers with weights to unfreeze for stage 2 — about the last block "
                       "of the backbone (e.g. 8–9 layers of a MobileNetV2 block, 3 convolutions of VGG16's block 5). "
                       "The Model tab's layer table shows the blocks.",
    "stage2_lr": "Stage 2 learning rate = learning rate × this factor. 0.1 (ten times lower) is the usual choice: "
                 "big steps would destroy what the pretrained layers learned.",
    "cache": "When the first layers are frozen (and no augmentation is on), compute their output once and train only "
             "the rest: much faster, same result. The run bar says whether a training used it.",
}


class LogSpinBox(QDoubleSpinBox):
    """A spin box for quantities that live on a log scale (learning rates): steps 1, 2, 5 × 10ⁿ."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(1e-7, 10.0)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt name)
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: D401
        from PySide6.QtGui import QValidator

        try:
            float(text)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        value = self.value()
        exponent = math.floor(math.log10(value))
        ladder = [m * 10.0**e for e in range(exponent - 2, exponent + 3) for m in (1, 2, 5)]
        index = min(range(len(ladder)), key=lambda i: abs(math.log(ladder[i] / value)))
        index = max(0, min(len(ladder) - 1, index + steps))
        self.setValue(float(f"{ladder[index]:.8g}"))
        self.editingFinished.emit()


class TrainingPanel(QWidget):
    """Writes `config.training.*` and `config.data.val_split` (augmentation: `gui.panels.augmentation`)."""

    def __init__(self, store: ConfigStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._bindings: list[tuple[QWidget, Callable[[], Any], Callable[[Any], None]]] = []
        self._build()
        self.store.changed.connect(self._on_config_changed)
        self._sync()

    def _bind(self, widget: QWidget, key: str, read: Callable[[], Any], write: Callable[[Any], None], signal: Any,
              label: str | None, form: QFormLayout | None, tip: str = "") -> None:
        """Connect one widget to one config key both ways (and add it to `form` unless None)."""
        signal.connect(lambda *_: self.store.update(**{key: read()}))
        self._bindings.append((widget, key, write))
        if tip:
            widget.setToolTip(tip)
        if form is None:
            return
        if label is None:
            form.addRow(widget)
        else:
            form.addRow(label, widget)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(heading("Optimisation"))
        form = QFormLayout()
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self._bind(self.optimizer, "training.optimizer", self.optimizer.currentText, self.optimizer.setCurrentText,
                   self.optimizer.activated, "Optimizer", form, TIPS["optimizer"])
        self.lr = LogSpinBox()
        self._bind(self.lr, "training.learning_rate", self.lr.value, self.lr.setValue, self.lr.editingFinished,
                   "Learning rate", form, TIPS["lr"])
        self.momentum = QDoubleSpinBox()
        self.momentum.setRange(0.0, 0.99)
        self.momentum.setSingleStep(0.05)
        self._bind(self.momentum, "training.momentum", self.momentum.value, self.momentum.setValue,
                   self.momentum.editingFinished, "Momentum", form, "SGD only: how much of the previous step carries over")
        self.batch = QSpinBox()
        self.batch.setRange(1, 65536)
        self._bind(self.batch, "training.batch_size", self.batch.value, self.batch.setValue, self.batch.editingFinished,
                   "Batch size", form, TIPS["batch"])
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100000)
        self._bind(self.epochs, "training.epochs", self.epochs.value, self.epochs.setValue, self.epochs.editingFinished,
                   "Epochs", form, TIPS["epochs"])
        self.val_split = QSpinBox()
        self.val_split.setRange(5, 85)
        self.val_split.setSuffix(" %")
        self._bind(self.val_split, "data.val_split", lambda: self.val_split.value() / 100,
                   lambda v: self.val_split.setValue(round(v * 100)), self.val_split.editingFinished,
                   "Validation", form, TIPS["val"])
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self._bind(self.seed, "training.seed", self.seed.value, self.seed.setValue, self.seed.editingFinished,
                   "Seed", form, TIPS["seed"])
        early_row = QWidget()
        early_layout = QHBoxLayout(early_row)
        early_layout.setContentsMargins(0, 0, 0, 0)
        self.early = QCheckBox("Early stopping")
        self.patience = QSpinBox()
        self.patience.setRange(1, 1000)
        self.patience.setPrefix("patience ")
        early_layout.addWidget(self.early)
        early_layout.addWidget(self.patience, 1)
        self._bind(self.early, "training.early_stopping", self.early.isChecked, self.early.setChecked, self.early.toggled,
                   None, None, TIPS["early"])
        self._bind(self.patience, "training.patience", self.patience.value, self.patience.setValue,
                   self.patience.editingFinished, None, None, TIPS["early"])
        form.addRow(early_row)
        layout.addLayout(form)

        stage = QGroupBox("Staged fine-tuning")
        stage.setToolTip(TIPS["stage2"])
        sform = QFormLayout(stage)
        recipe = hint("Head first with the base frozen, then unfreeze the last block at a lower learning rate.")
        recipe.setToolTip(TIPS["stage2"])
        sform.addRow(recipe)
        self.stage2_epochs = QSpinBox()
        self.stage2_epochs.setRange(0, 100000)
        self.stage2_epochs.setSpecialValueText("off")
        self._bind(self.stage2_epochs, "training.stage2_epochs", self.stage2_epochs.value, self.stage2_epochs.setValue,
                   self.stage2_epochs.editingFinished, "Extra epochs", sform, TIPS["stage2_epochs"])
        self.stage2_unfreeze = QSpinBox()
        self.stage2_unfreeze.setRange(0, 1000)
        self._bind(self.stage2_unfreeze, "training.stage2_unfreeze_last", self.stage2_unfreeze.value,
                   self.stage2_unfreeze.setValue, self.stage2_unfreeze.editingFinished, "Unfreeze last", sform,
                   TIPS["stage2_unfreeze"])
        self.stage2_lr = QDoubleSpinBox()
        self.stage2_lr.setRange(0.001, 1.0)
        self.stage2_lr.setDecimals(3)
        self.stage2_lr.setSingleStep(0.05)
        self._bind(self.stage2_lr, "training.stage2_lr_factor", self.stage2_lr.value, self.stage2_lr.setValue,
                   self.stage2_lr.editingFinished, "LR factor", sform, TIPS["stage2_lr"])
        self.stage2_unfreeze.setSuffix(" layers")
        self.stage2_lr.setPrefix("× ")
        layout.addWidget(stage)

        speed = QGroupBox("Speed")
        fform = QFormLayout(speed)
        self.cache = QCheckBox("Cache features of frozen layers")
        self._bind(self.cache, "training.feature_cache", self.cache.isChecked, self.cache.setChecked, self.cache.toggled,
                   None, fform, TIPS["cache"])
        self.mixed = QCheckBox("Mixed precision (GPU)")
        self._bind(self.mixed, "training.mixed_precision", self.mixed.isChecked, self.mixed.setChecked,
                   self.mixed.toggled, None, fform, "float16 maths on GPUs that support it: faster, less memory")
        self.xla = QCheckBox("XLA compilation")
        self._bind(self.xla, "training.xla", self.xla.isChecked, self.xla.setChecked, self.xla.toggled, None, fform,
                   "Compile the training step with XLA: slower first epoch, often faster after")
        layout.addWidget(speed)
        layout.addStretch(1)

    def _on_config_changed(self, keys: set[str]) -> None:
        if touches(keys, "training", "data.val_split"):
            self._sync()

    def _sync(self) -> None:
        data = self.store.config.to_dict()
        for widget, key, write in self._bindings:
            value: Any = data
            for part in key.split("."):
                value = value[part]
            widget.blockSignals(True)
            write(value)
            widget.blockSignals(False)
        self.momentum.setEnabled(self.store.config.training.optimizer == "sgd" and self.isEnabled())
        self.patience.setEnabled(self.store.config.training.early_stopping)

    def set_locked(self, locked: bool) -> None:
        self.setEnabled(not locked)


class RunBar(QWidget):
    """The always-visible strip above the plots: Train / Stop, progress, time left and device."""

    train_clicked = Signal()
    stop_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(10)
        self.train = QPushButton("▶  Train")
        self.train.setObjectName("PrimaryButton")
        self.train.setToolTip("Train the model on the chosen data (Ctrl+Return)")
        self.train.setShortcut("Ctrl+Return")
        self.train.clicked.connect(self.train_clicked)
        self.stop = QPushButton("■  Stop")
        self.stop.setObjectName("StopButton")
        self.stop.setToolTip("Stop after the current batch; the run so far is saved (Esc)")
        self.stop.setShortcut("Esc")
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self.stop_clicked)
        self.progress = QProgressBar()
        self.progress.setObjectName("RunProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Ready")
        self.progress.setMinimumWidth(200)
        self.eta = QLabel("")
        self.eta.setObjectName("Eta")
        self.eta.hide()  # shown only with something to say: it takes no width otherwise
        self.cache = QLabel("")
        self.cache.setObjectName("CacheChip")
        self.cache.hide()
        self.device = QLabel("")
        self.device.setObjectName("DeviceChip")
        self.device.setToolTip("The device this training runs on")
        self.device.setMaximumWidth(300)
        self.device.hide()
        self.device_name = ""
        self.memory_mb: float | None = None
        layout.addWidget(self.train)
        layout.addWidget(self.stop)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.eta)
        layout.addWidget(self.cache)
        layout.addWidget(self.device)

    def set_running(self, running: bool) -> None:
        self.train.setEnabled(not running)
        self.stop.setEnabled(running)

    def set_waiting(self, text: str) -> None:
        """Indeterminate progress with a reason (loading the engine, extracting features...)."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.progress.setToolTip(text)
        self._set_eta(text)  # a busy bar shows no text in most styles: say it next to it

    def set_progress(self, fraction: float, text: str, eta: str = "") -> None:
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1000)
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.progress.setFormat(text)
        self.progress.setToolTip(text)
        self._set_eta(eta)

    def _set_eta(self, text: str) -> None:
        self.eta.setText(text)
        self.eta.setVisible(bool(text))

    def set_device(self, device: str) -> None:
        if device != self.device_name:
            self.memory_mb = None
        self.device_name = device
        self._show_device()

    def set_memory(self, megabytes: float | None) -> None:
        """GPU memory TensorFlow holds (None on CPU: nothing shown)."""
        self.memory_mb = megabytes
        self._show_device()

    def _show_device(self) -> None:
        device = self.device_name
        text = ("⚡ " if device != "CPU" else "") + device
        tip = "The device this training runs on"
        if self.memory_mb is not None:
            text += f" · {format_memory(self.memory_mb)}"
            tip += f"; GPU memory TensorFlow holds now: {self.memory_mb:,.0f} MiB (updated every 2 s while training)"
        metrics = self.device.fontMetrics()
        self.device.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, self.device.maximumWidth() - 24))
        self.device.setToolTip(f"{text}\n{tip}")
        self.device.show()

    def set_cache(self, used: bool | None, note: str = "") -> None:
        """The feature-cache badge: whether this training runs on cached features (None: hide)."""
        if used is None:
            self.cache.hide()
            return
        self.cache.setText("▣ cached features" if used else "no feature cache")
        self.cache.setProperty("state", "on" if used else "off")
        self.cache.setToolTip(note or ("Training the head on cached features of the frozen layers" if used
                                       else "Every batch runs through the whole network"))
        self.cache.style().unpolish(self.cache)
        self.cache.style().polish(self.cache)
        self.cache.show()


def format_memory(megabytes: float) -> str:
    return f"{megabytes / 1024:.1f} GiB" if megabytes >= 1024 else f"{megabytes:.0f} MiB"


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
