"""Architecture panel: preset, its options, and the layer table with per-layer freezing.

The table shows the model the inspection controller built in the background
(gui/controllers/inspect.py); this panel only renders it and writes the user's intent
(`arch.*`, `layer_trainable`, `freeze_all_but`) into the config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import ACTIVATIONS
from gui import theme
from gui.binding import Binder
from gui.panels.layer_table import NAME_ROLE, LayerTree, block_of
from gui.session import ConfigStore
from gui.widgets import Form, heading, hint, panel_layout, set_state

TIPS = {
    "dropout": "Dropout switches off a random share of a layer's outputs at every training step, so the network "
    "cannot lean on any single feature. It fights overfitting; it is off when classifying.",
    "rate": "The share of outputs dropped at each step: 0.2–0.5 is usual. Higher regularises more but learns slower.",
    "batchnorm": "Batch normalisation rescales each layer's outputs to a steady range during training. Training "
    "usually gets faster and tolerates higher learning rates.",
    "activation": "The nonlinearity after each hidden layer. ReLU is the usual default.",
    "freeze_all_but": "Freeze every layer that has weights except the last N (the classifier end of the network).",
    "freeze_base": "Keep the pretrained backbone as it is and train only the new head.",
    "fine_tune_last": "After freezing the base, let its last N layers learn too (fine-tuning).",
    "task": "Classification: the network names each image's class. Autoencoder: it learns to give back the image "
    "itself through a narrow middle (the curves show the reconstruction error; dropped images are "
    "reconstructed, not classified).",
    "noise": "Autoencoders: Gaussian noise (std on the 0..1 pixel scale) added to the inputs while the network "
    "learns to give back the clean image: a denoising autoencoder. 0: it reconstructs the images as they are.",
    "weights": "Where the backbone's starting weights come from. ImageNet: downloaded once into Keras' cache "
    "(~/.keras/models; offline, put the file there). Random (none): no download, learns from scratch. "
    "File: a Keras .h5 weights file of this backbone without its classifier top.",
}

FILE_CHOICE = "__file__"
BUILT_IN_WEIGHTS = ("imagenet", "none", FILE_CHOICE)


class ModelPanel(QWidget):
    def __init__(self, store: ConfigStore, architectures: Sequence[Any], parent: QWidget | None = None) -> None:
        """`architectures`: the presets to offer (`engine.ArchInfo`), in the engine's order."""
        super().__init__(parent)
        self.store = store
        self.architectures = {info.name: info for info in architectures}
        self.rows: tuple[Any, ...] = ()
        self.binder = Binder(store)
        self._build()

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = panel_layout(self, "Architecture")
        layout.addLayout(self._build_task())
        self.preset = QComboBox()
        self.preset.setObjectName("PresetCombo")
        previous_kind = None
        for info in self.architectures.values():
            if previous_kind is not None and info.kind != previous_kind:
                self.preset.insertSeparator(self.preset.count())
            previous_kind = info.kind
            suffix = {"backbone": "  (ImageNet)", "autoencoder": "  (autoencoder)"}.get(info.kind, "")
            self.preset.addItem(info.name + suffix, info.name)
            self.preset.setItemData(self.preset.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole)
        layout.addWidget(self.preset)
        self.description = hint("")
        layout.addWidget(self.description)
        layout.addLayout(self._build_options())
        self.backbone = self._build_backbone()
        layout.addWidget(self.backbone)
        layout.addLayout(self._build_freezing())

        self.params = QLabel("")
        self.params.setObjectName("Params")
        self.params.setWordWrap(True)
        layout.addWidget(self.params)
        self.params_bar = QProgressBar()
        self.params_bar.setObjectName("ParamsBar")
        self.params_bar.setTextVisible(False)
        self.params_bar.setFixedHeight(6)
        self.params_bar.setRange(0, 1000)
        layout.addWidget(self.params_bar)
        self.status = QLabel("")
        self.status.setObjectName("Status")
        self.status.setWordWrap(True)
        self.status.hide()  # shown only with something to say (building, an error)
        layout.addWidget(self.status)
        self.table = LayerTree()
        self.table.model.check_requested.connect(self._on_check)
        self.table.freeze_through_requested.connect(self.freeze_through)
        self.table.train_from_requested.connect(lambda block: self.freeze_through(self._previous_block(block)))
        layout.addWidget(self.table, 1)

        bind = self.binder
        bind.field(self.preset, "arch.name", write=self._choose_preset)
        bind.watch("arch.name", self._show_preset_info)

    def _build_task(self) -> QHBoxLayout:
        """Classification or autoencoder, and (autoencoder) the noise of a denoiser."""
        row = QHBoxLayout()
        row.addWidget(QLabel("Task"))
        self.task = QComboBox()
        self.task.addItem("classification", "classification")
        self.task.addItem("autoencoder", "autoencoder")
        self.task.setToolTip(TIPS["task"])
        row.addWidget(self.task, 1)
        self.noise = QDoubleSpinBox()
        self.noise.setRange(0.0, 2.0)
        self.noise.setSingleStep(0.05)
        self.noise.setDecimals(2)
        self.noise.setPrefix("noise σ ")
        self.noise.setToolTip(TIPS["noise"])
        row.addWidget(self.noise, 1)
        bind = self.binder
        bind.field(self.task, "task", write=self._choose_task)
        bind.field(self.noise, "arch.noise", from_widget=lambda v: round(v, 2))
        bind.watch("task", lambda task: self.noise.setVisible(task == "autoencoder"))
        return row

    def _choose_task(self, task: str) -> None:
        """An autoencoder needs an autoencoder architecture, a classifier any other: switch with the task."""
        if not task or task == self.store.config.task:
            return
        current = self.architectures.get(self.store.config.arch.name)
        kind = current.kind if current is not None else ""
        if (task == "autoencoder") != (kind == "autoencoder"):
            self._choose_preset("conv_autoencoder" if task == "autoencoder" else "mlp", task)
        else:
            self.store.update(task=task)

    def _build_options(self) -> Form:
        options = Form()
        dropout_row = QHBoxLayout()
        self.dropout = QCheckBox("Dropout")
        self.dropout.setToolTip(TIPS["dropout"])
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.0, 0.95)
        self.rate.setSingleStep(0.05)
        self.rate.setDecimals(2)
        self.rate.setPrefix("rate ")
        self.rate.setToolTip(TIPS["rate"])
        dropout_row.addWidget(self.dropout)
        dropout_row.addWidget(self.rate, 1)
        options.addRow(dropout_row)
        self.batchnorm = QCheckBox("Batch normalisation")
        self.batchnorm.setToolTip(TIPS["batchnorm"])
        options.addRow(self.batchnorm)
        self.activation = QComboBox()
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.setToolTip(TIPS["activation"])
        options.addRow("Activation", self.activation)
        bind = self.binder
        bind.field(self.dropout, "arch.dropout")
        bind.field(self.rate, "arch.dropout_rate", from_widget=lambda v: round(v, 2))
        bind.enable_when(self.rate, lambda config: config.arch.dropout)
        bind.field(self.batchnorm, "arch.batchnorm")
        bind.field(self.activation, "arch.activation")
        return options

    def _build_backbone(self) -> QGroupBox:
        box = QGroupBox("Pretrained backbone")
        form = Form(box)
        self.weights = QComboBox()
        self.weights.addItem("ImageNet", "imagenet")
        self.weights.addItem("random (none)", "none")
        self.weights.addItem("File…", FILE_CHOICE)
        self.weights.setToolTip(TIPS["weights"])
        form.addRow("Weights", self.weights)
        self.pooling = QComboBox()
        self.pooling.addItems(["avg", "flatten"])
        self.pooling.setToolTip(
            "How the base's last feature map becomes a vector: average over space (avg), "
            "or all values (flatten: many more head weights)"
        )
        self.head_units = QSpinBox()
        self.head_units.setRange(1, 8192)
        self.head_units.setSuffix(" units")
        self.head_units.setToolTip("Width of the new head's hidden Dense layer")
        self.head_units.setPrefix("Dense ")
        form.addRow("Pooling", self.pooling)
        form.addRow("Head", self.head_units)
        self.freeze_base = QCheckBox("Freeze the base")
        self.freeze_base.setToolTip(TIPS["freeze_base"])
        self.fine_tune = QSpinBox()
        self.fine_tune.setRange(0, 500)
        self.fine_tune.setToolTip(TIPS["fine_tune_last"])
        self.fine_tune.setPrefix("last ")
        self.fine_tune.setSuffix(" layers")
        self.fine_tune.setSpecialValueText("none")
        form.addRow(self.freeze_base)
        form.addRow("Then unfreeze", self.fine_tune)
        bind = self.binder
        bind.field(self.weights, "arch.weights", write=self._choose_weights, show=self._show_weights)
        bind.field(self.pooling, "arch.pooling")
        bind.field(self.head_units, "arch.head_units")
        bind.field(self.freeze_base, "arch.freeze_base")
        bind.field(self.fine_tune, "arch.fine_tune_last")
        return box

    def _build_freezing(self) -> QVBoxLayout:
        column = QVBoxLayout()
        head = QHBoxLayout()
        head.addWidget(heading("Layers"))
        head.addStretch(1)
        self.reset = QPushButton("Reset freezing")
        self.reset.setObjectName("FlatButton")
        self.reset.setToolTip("Forget per-layer choices and 'freeze all but'")
        self.reset.clicked.connect(lambda: self.store.update(layer_trainable={}, freeze_all_but=None))
        head.addWidget(self.reset)
        column.addLayout(head)
        row = QHBoxLayout()
        self.freeze_check = QCheckBox("Train only the last")
        self.freeze_check.setToolTip(TIPS["freeze_all_but"])
        self.freeze_spin = QSpinBox()
        self.freeze_spin.setRange(0, 1000)
        self.freeze_spin.setValue(1)
        self.freeze_spin.setSuffix(" layers")
        self.freeze_spin.setToolTip(TIPS["freeze_all_but"])
        row.addWidget(self.freeze_check)
        row.addWidget(self.freeze_spin, 1)
        column.addLayout(row)
        self.binder.optional(self.freeze_check, self.freeze_spin, "freeze_all_but")
        self.binder.lockable(self.reset)
        return column

    # --- preset and weights -------------------------------------------------------------------------
    def _show_preset_info(self, name: str) -> None:
        info = self.architectures.get(name)
        self.description.setText(info.description if info else "")
        self.backbone.setVisible(bool(info and info.kind == "backbone"))

    def _choose_preset(self, name: str, task: str | None = None) -> None:
        """A new preset starts from its designed defaults and forgets per-layer freezing; an
        autoencoder preset sets the task to autoencoder (and another preset back to classification)."""
        if not name or name == self.store.config.arch.name:
            return
        info = self.architectures[name]
        changes: dict[str, Any] = {
            "arch.name": name,
            "layer_trainable": {},
            "freeze_all_but": None,
            "task": task or ("autoencoder" if info.kind == "autoencoder" else "classification"),
        }
        changes.update({f"arch.{k}": v for k, v in info.defaults.items()})
        self.store.update(**changes)

    def _choose_weights(self, choice: str) -> None:
        if choice == FILE_CHOICE:
            current = self.store.config.arch.weights
            start = current if current not in BUILT_IN_WEIGHTS else ""
            choice, _ = QFileDialog.getOpenFileName(
                self, "Backbone weights file", start, "Keras weights (*.h5);;All files (*)"
            )
            if not choice:
                self._show_weights(self.store.config.arch.weights)  # cancelled: show the choice in force
                return
        self.store.update(**{"arch.weights": choice})

    def _show_weights(self, weights: str) -> None:
        """Select `weights`; a file gets its own entry (name shown, path in the tooltip)."""
        combo = self.weights
        index = combo.findData(weights)
        if index < 0:
            for i in reversed(range(combo.count())):
                if combo.itemData(i) not in BUILT_IN_WEIGHTS:
                    combo.removeItem(i)
            combo.insertItem(2, f"file: {Path(weights).name}", weights)
            combo.setItemData(2, weights, Qt.ItemDataRole.ToolTipRole)
            index = 2
        combo.setCurrentIndex(index)

    def set_locked(self, locked: bool) -> None:
        self.binder.set_locked(locked)
        self.table.set_locked(locked)  # the tree stays scrollable and expandable; its boxes become read-only

    # --- inspection results (the view of gui.controllers.inspect) -------------------------------------
    def show_building(self, text: str = "Building the model…") -> None:
        self.status.setText(text)
        self.status.show()
        set_state(self.status, "busy")

    def show_error(self, message: str) -> None:
        """The model cannot be built: say why and show no (stale) layers."""
        self.status.setText(f"⚠ {message}")
        self.status.show()
        set_state(self.status, "error")
        self.params.setText("")
        self.params_bar.setValue(0)
        self.rows = ()
        self.table.clear()

    def show_inspection(self, rows: tuple[Any, ...], trainable: int, total: int) -> None:
        self.rows = tuple(rows)
        self.status.setText("")
        self.status.hide()
        set_state(self.status, "")
        frozen = total - trainable
        self.params.setText(
            f"<b>{trainable:,}</b> of {total:,} parameters trainable"
            + (f" · <span style='color:{theme.TEXT_DIM}'>{frozen:,} frozen</span>" if frozen else "")
        )
        self.params_bar.setValue(int(1000 * trainable / total) if total else 0)
        self.table.show_rows(self.rows, self.store.config.arch.name)

    # --- ticks → config -----------------------------------------------------------------------------
    def _on_check(self, kind: str, name: str, on: bool) -> None:
        overrides = dict(self.store.config.layer_trainable)
        names = [r.name for r in self.rows if block_of(r) == name and r.has_weights] if kind == "block" else [name]
        overrides.update(dict.fromkeys(names, on))
        self.store.update(layer_trainable=overrides)

    def set_layer_checked(self, name: str, on: bool, *, block: bool = False) -> None:
        """Tick or untick a layer (or a block: names may clash, e.g. MobileNetV2's "out_relu") as a click would."""
        item = (self.table.model.blocks if block else self.table.model.layers)[name]
        self.table.model.setData(
            item.index(), Qt.CheckState.Checked if on else Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole
        )

    def freeze_through(self, block: str) -> None:
        """Freeze every layer with weights up to and including `block`; train all after it."""
        blocks = list(self.table.model.blocks)
        if block not in blocks:
            return
        frozen = set(blocks[: blocks.index(block) + 1])
        overrides = dict(self.store.config.layer_trainable)
        overrides.update({r.name: block_of(r) not in frozen for r in self.rows if r.has_weights})
        self.store.update(layer_trainable=overrides)

    def _previous_block(self, block: str) -> str:
        blocks = list(self.table.model.blocks)
        i = blocks.index(block)
        return blocks[i - 1] if i else block

    # --- reading the table (tests, scripts) ------------------------------------------------------------
    @property
    def grouped(self) -> bool:
        return self.table.model.grouped

    def check_state(self, name: str, *, block: bool = False) -> Qt.CheckState:
        return (self.table.model.blocks if block else self.table.model.layers)[name].checkState()

    def kind_of(self, name: str) -> str:
        item = self.table.model.layers[name]
        parent = item.parent() or self.table.model.invisibleRootItem()
        return parent.child(item.row(), 1).text()

    def blocks(self) -> list[str]:
        return [item.data(NAME_ROLE) for item in self.table.model.blocks.values()]
