"""Training settings (left column) and the run bar (Train/Stop, progress, time left, device)."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from engine import OPTIMIZERS, SCHEDULES, ConfigError, ExperimentConfig, apply_recipe, describe_changes
from gui.binding import Binder
from gui.session import ConfigStore, TrainingState
from gui.text import format_memory
from gui.widgets import Form, hint, keep_place_when_hidden, panel_layout, set_state

TIPS = {
    "optimizer": "How the weights move after each batch. Adam adapts the step per weight and is a safe start; "
    "SGD with momentum is the classic; RMSprop sits in between.",
    "lr": "How big each update step is. Too high: the loss jumps around or explodes; too low: it crawls. "
    "Arrow keys step through 1, 2, 5 × 10ⁿ.",
    "batch": "Images per update step. Bigger batches run faster per image but update less often.",
    "epochs": "How many times training walks through the whole training set.",
    "val": "The share of the data held back to check the model on images it never trained on "
    "(used when the dataset has no validation split of its own).",
    "validate_on": "What the curves' validation figures come from. A share of the training data leaves the test set "
    "untouched until the end; validating on the test set (as the classic tutorials do) lets every "
    "decision you take from the curves leak into it: then there is no untouched test set left.",
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
    "schedule": "How the learning rate changes from epoch to epoch (within each stage). Constant: the same rate "
    "throughout. Step: multiplied by a factor every N epochs. Cosine: glides from the rate down to almost "
    "nothing. One-cycle: rises to the rate, then falls far below it (fast, often the best short run). "
    "The rate of each epoch is drawn under the loss curve.",
    "warmup": "Start at a small rate and grow linearly to the full one over these first epochs (0: none): "
    "keeps large early steps from wrecking pretrained weights or a fresh BatchNorm.",
    "step_every": "Step schedule: multiply the rate by the factor every this many epochs.",
    "step_factor": "Step schedule: the factor (0.1: ten times lower at each step).",
    "deterministic": "TensorFlow's op determinism: the same seed gives the very same history, epoch for epoch. "
    "Slower: measured 1.03–1.07× for a small CNN on a 2-core CPU, up to ~1.5× with augmentation, "
    "possibly more on a GPU (some kernels have no deterministic variant); see docs/benchmarks.md.",
    "recipe": "How the model is trained, the architecture unchanged. Textbook: the settings as the tutorial (or you) "
    "set them. Fast: what the speed-run trainers do — Adam on a schedule that moves every batch (one-cycle or "
    "cosine) from a measured peak rate, larger batches, fewer epochs, label smoothing, flips that keep the classes "
    "and test-time augmentation — filled into the settings below, where you can see and edit each one. "
    "Back to Textbook puts the settings you had back.",
    "target": "End the training at the first epoch whose validation accuracy reaches this, as a finished run "
    "(evaluated and saved like one): how long does this recipe take to get there?",
    "schedule_per": "Every epoch: one rate per epoch (drawn under the loss). Every batch: the schedule moves on "
    "with every batch — what a run of a few epochs needs (a three-epoch one-cycle per epoch would end at half "
    "its peak).",
    "smoothing": "Train against targets moved this far towards uniform (0.1: 90 % + a share of 10 % for every "
    "class): the network is not pushed to ever more confident outputs; usually a little more accurate.",
    "tta": "Test-time augmentation: the final validation and test figures average the predictions of each image and "
    "its mirror images (the flips the augmentation uses; nothing to average without flips).",
    "spe": "Batches per call into TensorFlow (Keras's steps_per_execution): less Python per batch for small models "
    "on big data; the curves and Stop then move every that many batches. On short CPU runs it costs more than it "
    "saves (the loop is traced once more): see docs/benchmarks.md.",
    "cache": "When the first layers are frozen (and no augmentation is on), compute their output once and train only "
    "the rest: much faster, same result. The run bar says whether a training used it.",
}


SCHEDULE_NAMES = {"constant": "constant", "step": "step decay", "cosine": "cosine", "one_cycle": "one-cycle"}
RECIPE_NAMES = {"textbook": "Textbook", "fast": "⚡ Fast"}


class LogSpinBox(QDoubleSpinBox):
    """A spin box for quantities that live on a log scale (learning rates): steps 1, 2, 5 × 10ⁿ."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(8)
        self.setRange(1e-7, 10.0)

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        from PySide6.QtGui import QValidator

        try:
            float(text)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        exponent = math.floor(math.log10(value))
        ladder = [m * 10.0**e for e in range(exponent - 2, exponent + 3) for m in (1, 2, 5)]
        index = min(range(len(ladder)), key=lambda i: abs(math.log(ladder[i] / value)))
        index = max(0, min(len(ladder) - 1, index + steps))
        self.setValue(float(f"{ladder[index]:.8g}"))
        self.editingFinished.emit()


class TrainingPanel(QWidget):
    """Edits `config.training.*` and `config.data.val_split` (augmentation: `gui.panels.augmentation`)."""

    def __init__(self, store: ConfigStore, lr_finder: QWidget | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.binder = Binder(store)
        self._textbook: ExperimentConfig | None = None  # the settings before Fast filled them
        self._build(lr_finder)

    def _row(self, form: Form, label: str | None, widget: QWidget, key: str, tip: str, **convert) -> None:
        """Bind `widget` to `key`, give it `tip` and add it to `form` (labelled unless None)."""
        self.binder.field(widget, key, **convert)
        widget.setToolTip(tip)
        if label is None:
            form.addRow(widget)
        else:
            form.addRow(label, widget)

    def _build(self, lr_finder: QWidget | None) -> None:
        layout = panel_layout(self, "Optimisation")
        form = Form()
        self.recipe = QComboBox()
        self.recipe.setObjectName("RecipeChoice")
        for name, text in RECIPE_NAMES.items():
            self.recipe.addItem(text, name)
        self.binder.field(self.recipe, "training.recipe", write=self.choose_recipe)
        self.recipe.setToolTip(TIPS["recipe"])
        form.addRow("Recipe", self.recipe)
        self.recipe_note = hint("")
        self.recipe_note.setWordWrap(True)
        self.recipe_note.hide()
        form.addRow(self.recipe_note)
        self.binder.watch("training.recipe", lambda _recipe: self._show_recipe())
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self._row(form, "Optimizer", self.optimizer, "training.optimizer", TIPS["optimizer"])
        self.lr = LogSpinBox()
        self._row(form, "Learning rate", self.lr, "training.learning_rate", TIPS["lr"])
        self.momentum = QDoubleSpinBox()
        self.momentum.setRange(0.0, 0.99)
        self.momentum.setSingleStep(0.05)
        self._row(
            form, "Momentum", self.momentum, "training.momentum", "SGD only: how much of the previous step carries over"
        )
        self.binder.enable_when(self.momentum, lambda config: config.training.optimizer == "sgd")
        self.batch = _spin(1, 65536)
        self._row(form, "Batch size", self.batch, "training.batch_size", TIPS["batch"])
        self.epochs = _spin(1, 100000)
        self._row(form, "Epochs", self.epochs, "training.epochs", TIPS["epochs"])
        self.val_split = _spin(5, 85)
        self.val_split.setSuffix(" %")
        self._row(
            form,
            "Validation",
            self.val_split,
            "data.val_split",
            TIPS["val"],
            to_widget=lambda v: round(v * 100),
            from_widget=lambda v: v / 100,
        )
        self.validate_on = QComboBox()
        self.validate_on.addItem("a share of the training data", "split")
        self.validate_on.addItem("the test set (as the tutorials do)", "test")
        self._row(form, "Validate on", self.validate_on, "data.validation", TIPS["validate_on"])
        self.seed = _spin(0, 2**31 - 1)
        self.seed.setMinimumWidth(90)  # seeds are short: the range's widest number need not set the column
        self._row(form, "Seed", self.seed, "training.seed", TIPS["seed"])
        self.early = QCheckBox("Early stop")
        self.patience = _spin(1, 1000)
        self.patience.setPrefix("patience ")
        self.patience.setMinimumWidth(110)
        for widget, key in ((self.early, "training.early_stopping"), (self.patience, "training.patience")):
            self.binder.field(widget, key)
            widget.setToolTip(TIPS["early"])
        self.binder.enable_when(self.patience, lambda config: config.training.early_stopping)
        form.addRow(self.early, self.patience)
        self.target_on = QCheckBox("Stop at")
        self.target = QDoubleSpinBox()
        self.target.setObjectName("TargetAccuracy")
        self.target.setRange(1.0, 100.0)
        self.target.setDecimals(1)
        self.target.setSingleStep(0.5)
        self.target.setValue(95.0)
        self.target.setSuffix(" % val accuracy")
        for widget in (self.target_on, self.target):
            widget.setToolTip(TIPS["target"])
        self.binder.optional(
            self.target_on,
            self.target,
            "training.target_accuracy",
            off=None,
            to_widget=lambda v: round(v * 100, 1),
            from_widget=lambda v: round(v / 100, 4),
        )
        form.addRow(self.target_on, self.target)
        layout.addLayout(form)
        if lr_finder is not None:  # placed under the rate it sets; its own panel (gui.panels.lr_finder)
            layout.addWidget(lr_finder)

        schedule = QGroupBox("Learning-rate schedule")
        schedule.setToolTip(TIPS["schedule"])
        rform = Form(schedule)
        self.schedule = QComboBox()
        for name in SCHEDULES:
            self.schedule.addItem(SCHEDULE_NAMES.get(name, name), name)
        self._row(rform, "Schedule", self.schedule, "training.schedule", TIPS["schedule"])
        self.warmup = _spin(0, 10000)
        self.warmup.setSpecialValueText("none")
        self.warmup.setSuffix(" epochs")
        self._row(rform, "Warm-up", self.warmup, "training.warmup_epochs", TIPS["warmup"])
        self.step_every = _spin(1, 10000)
        self.step_every.setSuffix(" epochs")
        self.step_factor = QDoubleSpinBox()
        self.step_factor.setRange(0.001, 1.0)
        self.step_factor.setDecimals(3)
        self.step_factor.setSingleStep(0.05)
        self.step_factor.setPrefix("× ")
        for label, widget, key, tip in (
            ("Step every", self.step_every, "training.step_every", TIPS["step_every"]),
            ("Step factor", self.step_factor, "training.step_factor", TIPS["step_factor"]),
        ):
            self._row(rform, label, widget, key, tip)
            self.binder.enable_when(widget, lambda config: config.training.schedule == "step")
        self.schedule_per = QComboBox()
        self.schedule_per.addItem("every epoch", "epoch")
        self.schedule_per.addItem("every batch", "batch")
        self._row(rform, "Moves", self.schedule_per, "training.schedule_per", TIPS["schedule_per"])
        self.binder.enable_when(self.schedule_per, lambda config: config.training.schedule != "constant")
        layout.addWidget(schedule)

        tricks = QGroupBox("Loss and evaluation")
        tform = Form(tricks)
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.5)
        self.smoothing.setDecimals(2)
        self.smoothing.setSingleStep(0.05)
        self.smoothing.setSpecialValueText("off")
        self._row(tform, "Label smoothing", self.smoothing, "training.label_smoothing", TIPS["smoothing"])
        self.tta = QCheckBox("Test-time augmentation (flips)")
        self._row(tform, None, self.tta, "training.tta", TIPS["tta"])
        layout.addWidget(tricks)

        stage = QGroupBox("Staged fine-tuning")
        stage.setToolTip(TIPS["stage2"])
        sform = Form(stage)
        recipe = hint("Head first with the base frozen, then unfreeze the last block at a lower learning rate.")
        recipe.setToolTip(TIPS["stage2"])
        sform.addRow(recipe)
        self.stage2_epochs = _spin(0, 100000)
        self.stage2_epochs.setSpecialValueText("off")
        self._row(sform, "Extra epochs", self.stage2_epochs, "training.stage2_epochs", TIPS["stage2_epochs"])
        self.stage2_unfreeze = _spin(0, 1000)
        self.stage2_unfreeze.setSuffix(" layers")
        self._row(
            sform, "Unfreeze last", self.stage2_unfreeze, "training.stage2_unfreeze_last", TIPS["stage2_unfreeze"]
        )
        self.stage2_lr = QDoubleSpinBox()
        self.stage2_lr.setRange(0.001, 1.0)
        self.stage2_lr.setDecimals(3)
        self.stage2_lr.setSingleStep(0.05)
        self.stage2_lr.setPrefix("× ")
        self._row(sform, "LR factor", self.stage2_lr, "training.stage2_lr_factor", TIPS["stage2_lr"])
        layout.addWidget(stage)

        speed = QGroupBox("Speed")
        fform = Form(speed)
        self.cache = QCheckBox("Cache features of frozen layers")
        self._row(fform, None, self.cache, "training.feature_cache", TIPS["cache"])
        self.mixed = QCheckBox("Mixed precision (GPU)")
        self._row(
            fform,
            None,
            self.mixed,
            "training.mixed_precision",
            "float16 maths on GPUs that support it: faster, less memory",
        )
        self.xla = QCheckBox("XLA compilation")
        self._row(
            fform,
            None,
            self.xla,
            "training.xla",
            "Compile the training step with XLA: slower first epoch, often faster after",
        )
        self.steps_per_call = _spin(1, 1000)
        self._row(fform, "Batches per call", self.steps_per_call, "training.steps_per_execution", TIPS["spe"])
        self.deterministic = QCheckBox("Deterministic (repeatable, slower)")
        self._row(fform, None, self.deterministic, "training.deterministic", TIPS["deterministic"])
        layout.addWidget(speed)
        layout.addStretch(1)

    def set_locked(self, locked: bool) -> None:
        self.binder.set_locked(locked)

    # --- recipes ----------------------------------------------------------------------------------
    def choose_recipe(self, recipe: str) -> None:
        """Fill the settings with the fast recipe (remembering those it replaced), or put them back."""
        config = self.store.config
        if recipe == config.training.recipe:
            return
        if recipe == "fast":
            try:
                fast = apply_recipe(config, "fast")
            except ConfigError as err:
                self.binder.refresh()  # the choice goes back to what the config says
                self._note(f"⚠ {err}")
                return
            self._textbook = config
            self.store.replace(fast)
            return
        before = self._textbook
        self._textbook = None
        if before is None or (before.arch, before.data) != (config.arch, config.data):
            self.store.update(**{"training.recipe": "textbook"})  # nothing to put back: the settings stay
            return
        self.store.replace(
            config.updated(
                training=before.training.model_dump(mode="json"), augmentation=before.augmentation.model_dump()
            )
        )

    def _show_recipe(self) -> None:
        config = self.store.config
        if config.training.recipe != "fast":
            self._note("")
            return
        if self._textbook is None:
            self._note("⚡ The fast recipe set the settings below; edit any of them.")
            return
        changes = describe_changes(self._textbook, config)
        self._note("⚡ Fast recipe: " + ("; ".join(changes) if changes else "no setting changed") + ".")

    def _note(self, text: str) -> None:
        self.recipe_note.setText(text)
        self.recipe_note.setVisible(bool(text))


def _spin(low: int, high: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    return spin


class ProgressBar(QProgressBar):
    """A progress bar whose text is elided to the bar when it is drawn (`format()` keeps the whole
    text; the tooltip shows it), instead of being cut at both ends."""

    def text(self) -> str:
        return self.fontMetrics().elidedText(super().text(), Qt.TextElideMode.ElideRight, max(0, self.width() - 16))


class RunBar(QWidget):
    """The strip across the top of the window: Train, Pause, Stop, the progress with the time left
    beside it, and two status chips (feature cache, device).

    Its geometry never changes with the state: each button is as wide as the widest of its texts
    (Pause and Resume share one width), the time left has its own slot beside the progress (never
    under its text), the chips have fixed widths and elide what does not fit (the whole text in
    their tooltip), and a part with nothing to say keeps its place empty. So Pause never lands
    where Stop was when a training starts or ends.
    """

    train_clicked = Signal()
    stop_clicked = Signal()
    pause_clicked = Signal()  # Pause, or Resume while paused

    TRAIN_TEXTS = ("▶  Train",)
    PAUSE_TEXTS = ("❚❚  Pause", "▶  Resume")
    STOP_TEXTS = ("■  Stop",)
    ETA_SAMPLE = "88 min 88 s left"
    CACHE_TEXTS = ("▣ cached features", "no feature cache")
    DEVICE_WIDTH = 190

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(8)
        self.train = QPushButton(self.TRAIN_TEXTS[0])
        self.train.setObjectName("PrimaryButton")
        self.train.clicked.connect(self.train_clicked)
        self.pause = QPushButton(self.PAUSE_TEXTS[0])
        self.pause.setObjectName("PauseButton")
        self.pause.setEnabled(False)
        self.pause.clicked.connect(self.pause_clicked)
        self.stop = QPushButton(self.STOP_TEXTS[0])
        self.stop.setObjectName("StopButton")
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self.stop_clicked)
        self.set_shortcuts("Ctrl+Return", "Ctrl+P", "Esc")
        self.progress = ProgressBar()
        self.progress.setObjectName("RunProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(160)
        self.eta = QLabel("")
        self.eta.setObjectName("Eta")
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cache = QLabel("")
        self.cache.setObjectName("CacheChip")
        self.cache.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.device = QLabel("")
        self.device.setObjectName("DeviceChip")
        self.device.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.device.setToolTip("The device this training runs on")
        self.device_name = ""
        self.memory_mb: float | None = None
        for widget in (self.cache, self.device):
            keep_place_when_hidden(widget)
            widget.hide()
        layout.addWidget(self.train)
        layout.addWidget(self.pause)
        layout.addWidget(self.stop)
        layout.addWidget(self.progress, 1)
        layout.addWidget(self.eta)
        layout.addWidget(self.cache)
        layout.addWidget(self.device)
        self.progress.setFormat("Ready")

    def set_shortcuts(self, train: str, pause: str, stop: str) -> None:
        """Name the shortcuts (they live on the Training menu's actions) in the buttons' tooltips."""
        self.train.setToolTip(f"Train the model on the chosen data ({train})")
        self.pause.setToolTip(
            f"Hold the training after the current batch, with everything in memory; Resume goes on exactly "
            f"there ({pause}). Stop still saves the run while paused."
        )
        self.stop.setToolTip(f"Stop after the current batch; the run so far is saved ({stop})")

    # --- fixed geometry -----------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.fix_widths()

    def changeEvent(self, event: Any) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.fix_widths()

    def fix_widths(self) -> None:
        """Each part as wide as the widest thing it ever shows (measured with the style sheet applied)."""
        for button, texts in (
            (self.train, self.TRAIN_TEXTS),
            (self.pause, self.PAUSE_TEXTS),
            (self.stop, self.STOP_TEXTS),
        ):
            button.ensurePolished()
            shown = button.text()
            widths = []
            for text in texts:
                button.setText(text)
                widths.append(button.sizeHint().width())
            button.setText(shown)
            button.setFixedWidth(max(widths))
        for label, texts in ((self.eta, (self.ETA_SAMPLE,)), (self.cache, self.CACHE_TEXTS)):
            label.ensurePolished()
            margins = label.contentsMargins()
            padding = margins.left() + margins.right() + 24  # the style sheet's padding and border
            label.setFixedWidth(max(label.fontMetrics().horizontalAdvance(t) for t in texts) + padding)
        self.device.setFixedWidth(self.DEVICE_WIDTH)

    # --- the training controller's view -------------------------------------------------------------
    def show_training(self, state: TrainingState) -> None:
        """Render the training state: buttons, progress, time left, cache badge (nothing moves)."""
        self.train.setEnabled(not state.running)
        self.stop.setEnabled(state.running and state.status != "stopping")
        held = state.status in ("pausing", "paused")
        self.pause.setEnabled(state.pausable and state.status in ("running", "pausing", "paused"))
        self.pause.setText(self.PAUSE_TEXTS[1] if held else self.PAUSE_TEXTS[0])
        set_state(self.pause, "held" if held else "")
        busy = state.status in ("waiting", "preparing") or (
            state.status in ("extracting", "stopping") and not state.fraction
        )
        set_state(self.progress, "busy" if busy else "")
        self.progress.setValue(0 if busy else int(1000 * max(0.0, min(1.0, state.fraction))))
        self.eta.setText(self.eta.fontMetrics().elidedText(state.eta, Qt.TextElideMode.ElideLeft, self.eta.width()))
        self.eta.setToolTip(state.eta)
        self.progress.setFormat(state.text)  # the whole text; drawn elided to the bar
        self.progress.setToolTip(state.tooltip or state.text)
        self.set_cache(state.feature_cache, state.cache_note)

    def show_device(self, device: str, memory_mb: float | None) -> None:
        """The device chip: the device and, on a GPU, the memory TensorFlow holds now."""
        if not device:
            return
        self.device_name = device
        self.memory_mb = memory_mb
        text = ("⚡ " if device != "CPU" else "") + device
        tip = "The device this training runs on"
        if memory_mb is not None:
            text += f" · {format_memory(memory_mb)}"
            tip += f"; GPU memory TensorFlow holds now: {memory_mb:,.0f} MiB (updated every 2 s while training)"
        metrics = self.device.fontMetrics()
        self.device.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, self.DEVICE_WIDTH - 24))
        self.device.setToolTip(f"{text}\n{tip}")
        self.device.show()

    def set_cache(self, used: bool | None, note: str = "") -> None:
        """The feature-cache badge: whether this training runs on cached features (None: its place stays empty)."""
        if used is None:
            self.cache.hide()
            return
        self.cache.setText(self.CACHE_TEXTS[0] if used else self.CACHE_TEXTS[1])
        set_state(self.cache, "on" if used else "off")
        self.cache.setToolTip(
            note
            or (
                "Training the head on cached features of the frozen layers"
                if used
                else "Every batch runs through the whole network"
            )
        )
        self.cache.show()
