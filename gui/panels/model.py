"""Architecture panel: preset, its options, and the layer table with per-layer freezing.

The table is drawn from a model the engine builds in a worker (`gui.workers.inspect_model_job`);
this panel only shows results and writes the user's intent (`arch.*`, `layer_trainable`,
`freeze_all_but`) into the config.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.architectures import get_architecture, list_architectures
from engine.config import ACTIVATIONS
from gui import theme
from gui.config_store import ConfigStore, touches
from gui.widgets import heading, hint, mono_font

TIPS = {
    "dropout": "Dropout switches off a random share of a layer's outputs at every training step, so the network "
               "cannot lean on any single feature. It fights overfitting; it is off when classifying.",
    "rate": "The share of outputs dropped at each step: 0.2–0.5 is usual. Higher regularises more but learns slower.",
    "batchnorm": "Batch normalisation rescales each layer's outputs to a steady range during training. Training "
                 "usually gets faster and tolerates higher learning rates.",
    "activation": "The nonlinearity after each hidden layer. ReLU is the usual default.",
    "freeze": "A frozen layer keeps its weights: training only changes the layers left trainable. Freeze a "
              "pretrained network's early layers to reuse what it learned and train far fewer parameters.",
    "freeze_all_but": "Freeze every layer that has weights except the last N (the classifier end of the network).",
    "freeze_base": "Keep the pretrained backbone as it is and train only the new head.",
    "fine_tune_last": "After freezing the base, let its last N layers learn too (fine-tuning).",
    "table": "Tick or untick a layer to train or freeze it. Layers without weights (pooling, activations) have nothing "
             "to freeze. Pretrained networks are grouped by block: a block's box trains or freezes all its layers "
             "(half-filled when mixed); right-click a block to freeze everything up to it.",
    "weights": "Where the backbone's starting weights come from. ImageNet: downloaded once into Keras' cache "
               "(~/.keras/models; offline, put the file there). Random (none): no download, learns from scratch. "
               "File: a Keras .h5 weights file of this backbone without its classifier top.",
    "filter": "Show only the layers (or blocks) whose name or kind contains this text",
}

COLUMNS = ("Layer", "Kind", "Params", "Output")
PARAMS, OUTPUT = 2, 3
KIND_ROLE = Qt.ItemDataRole.UserRole          # "block" or "layer"
NAME_ROLE = Qt.ItemDataRole.UserRole + 1      # the block's or layer's name
WEIGHTS_ROLE = Qt.ItemDataRole.UserRole + 2   # whether it has weights (can be frozen)
FILE_CHOICE = "__file__"


class ModelPanel(QWidget):
    reset_requested = Signal()

    def __init__(self, store: ConfigStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.rows: list[Any] = []
        self._locked = False
        self._layer_items: dict[str, QTreeWidgetItem] = {}
        self._block_items: dict[str, QTreeWidgetItem] = {}
        self._shown_names: list[str] = []
        self._expanded: set[str] = {"head"}
        self._expanded_arch = ""
        self._build()
        self.store.changed.connect(self._on_config_changed)
        self._sync()

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(heading("Architecture"))
        self.preset = QComboBox()
        self.preset.setObjectName("PresetCombo")
        infos = list_architectures()
        for info in infos:
            if info.kind == "backbone" and self.preset.findData("__sep__") < 0 and self.preset.count():
                self.preset.insertSeparator(self.preset.count())
            self.preset.addItem(info.name + ("  (ImageNet)" if info.kind == "backbone" else ""), info.name)
            self.preset.setItemData(self.preset.count() - 1, info.description, Qt.ItemDataRole.ToolTipRole)
        self.preset.activated.connect(self._on_preset)
        layout.addWidget(self.preset)
        self.description = hint("")
        layout.addWidget(self.description)

        options = QFormLayout()
        options.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        dropout_row = QHBoxLayout()
        self.dropout = QCheckBox("Dropout")
        self.dropout.setToolTip(TIPS["dropout"])
        self.dropout.toggled.connect(lambda on: self.store.update(**{"arch.dropout": on}))
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.0, 0.95)
        self.rate.setSingleStep(0.05)
        self.rate.setDecimals(2)
        self.rate.setPrefix("rate ")
        self.rate.setToolTip(TIPS["rate"])
        self.rate.editingFinished.connect(lambda: self.store.update(**{"arch.dropout_rate": round(self.rate.value(), 2)}))
        dropout_row.addWidget(self.dropout)
        dropout_row.addWidget(self.rate, 1)
        options.addRow(dropout_row)
        self.batchnorm = QCheckBox("Batch normalisation")
        self.batchnorm.setToolTip(TIPS["batchnorm"])
        self.batchnorm.toggled.connect(lambda on: self.store.update(**{"arch.batchnorm": on}))
        options.addRow(self.batchnorm)
        self.activation = QComboBox()
        self.activation.addItems(list(ACTIVATIONS))
        self.activation.setToolTip(TIPS["activation"])
        self.activation.activated.connect(lambda i: self.store.update(**{"arch.activation": self.activation.itemText(i)}))
        options.addRow("Activation", self.activation)
        layout.addLayout(options)

        self.backbone = QGroupBox("Pretrained backbone")
        form = QFormLayout(self.backbone)
        self.weights = QComboBox()
        self.weights.addItem("ImageNet", "imagenet")
        self.weights.addItem("random (none)", "none")
        self.weights.addItem("File…", FILE_CHOICE)
        self.weights.setToolTip(TIPS["weights"])
        self.weights.activated.connect(self._on_weights)
        form.addRow("Weights", self.weights)
        self.pooling = QComboBox()
        self.pooling.addItems(["avg", "flatten"])
        self.pooling.activated.connect(lambda i: self.store.update(**{"arch.pooling": self.pooling.itemText(i)}))
        self.head_units = QSpinBox()
        self.head_units.setRange(1, 8192)
        self.head_units.editingFinished.connect(lambda: self.store.update(**{"arch.head_units": self.head_units.value()}))
        self.head_units.setSuffix(" units")
        self.pooling.setToolTip("How the base's last feature map becomes a vector: average over space (avg), "
                                "or all values (flatten: many more head weights)")
        self.head_units.setToolTip("Width of the new head's hidden Dense layer")
        head_row = QHBoxLayout()
        head_row.addWidget(self.pooling)
        head_row.addWidget(QLabel("→ Dense"))
        head_row.addWidget(self.head_units, 1)
        form.addRow("Head", head_row)
        self.freeze_base = QCheckBox("Freeze the base")
        self.freeze_base.setToolTip(TIPS["freeze_base"])
        self.freeze_base.toggled.connect(lambda on: self.store.update(**{"arch.freeze_base": on}))
        self.fine_tune = QSpinBox()
        self.fine_tune.setRange(0, 500)
        self.fine_tune.setToolTip(TIPS["fine_tune_last"])
        self.fine_tune.editingFinished.connect(lambda: self.store.update(**{"arch.fine_tune_last": self.fine_tune.value()}))
        self.fine_tune.setPrefix("then unfreeze last ")
        self.fine_tune.setSuffix(" layers")
        base_row = QHBoxLayout()
        base_row.addWidget(self.freeze_base)
        base_row.addWidget(self.fine_tune, 1)
        form.addRow(base_row)
        layout.addWidget(self.backbone)

        layers_head = QHBoxLayout()
        layers_head.addWidget(heading("Layers"))
        layers_head.addStretch(1)
        self.expand_button = QPushButton("Expand / collapse")
        self.expand_button.setObjectName("FlatButton")
        self.expand_button.setToolTip("Open or close every block")
        self.expand_button.clicked.connect(self._toggle_expand)
        self.expand_button.hide()
        layers_head.addWidget(self.expand_button)
        self.reset = QPushButton("Reset freezing")
        self.reset.setObjectName("FlatButton")
        self.reset.setToolTip("Forget per-layer choices and 'freeze all but'")
        self.reset.clicked.connect(lambda: self.store.update(layer_trainable={}, freeze_all_but=None))
        layers_head.addWidget(self.reset)
        layout.addLayout(layers_head)
        freeze_row = QHBoxLayout()
        self.freeze_check = QCheckBox("Freeze all but the last")
        self.freeze_check.setToolTip(TIPS["freeze_all_but"])
        self.freeze_check.toggled.connect(self._write_freeze)
        self.freeze_spin = QSpinBox()
        self.freeze_spin.setRange(0, 1000)
        self.freeze_spin.setValue(1)
        self.freeze_spin.setSuffix(" layers")
        self.freeze_spin.setToolTip(TIPS["freeze_all_but"])
        self.freeze_spin.valueChanged.connect(lambda _: self.freeze_check.isChecked() and self._write_freeze())
        freeze_row.addWidget(self.freeze_check)
        freeze_row.addWidget(self.freeze_spin, 1)
        layout.addLayout(freeze_row)

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

        tools = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter layers…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip(TIPS["filter"])
        self.filter.textChanged.connect(lambda _: self._apply_filter())
        self.filter.hide()
        tools.addWidget(self.filter, 1)
        layout.addLayout(tools)

        self.tree = QTreeWidget()
        self.tree.setObjectName("LayerTable")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setToolTip(TIPS["table"])
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(14)
        self.tree.setRootIsDecorated(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)   # kinds can be long: elided
        self.tree.setColumnWidth(1, 100)
        for col in range(2, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemExpanded.connect(lambda item: self._on_expanded(item, True))
        self.tree.itemCollapsed.connect(lambda item: self._on_expanded(item, False))
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.setMinimumHeight(220)
        layout.addWidget(self.tree, 1)

    # --- config → widgets -----------------------------------------------------------------------
    def _on_config_changed(self, keys: set[str]) -> None:
        if touches(keys, "arch", "freeze_all_but", "layer_trainable"):
            self._sync()

    def _sync(self) -> None:
        config = self.store.config
        arch = config.arch
        try:
            info = get_architecture(arch.name)
        except Exception:
            info = None
        widgets = (self.preset, self.dropout, self.rate, self.batchnorm, self.activation, self.weights, self.pooling,
                   self.head_units, self.freeze_base, self.fine_tune, self.freeze_check, self.freeze_spin)
        for w in widgets:
            w.blockSignals(True)
        self.preset.setCurrentIndex(max(0, self.preset.findData(arch.name)))
        self.description.setText(info.description if info else "")
        self.dropout.setChecked(arch.dropout)
        self.rate.setValue(arch.dropout_rate)
        self.batchnorm.setChecked(arch.batchnorm)
        self.activation.setCurrentText(arch.activation)
        self._show_weights(arch.weights)
        self.pooling.setCurrentText(arch.pooling)
        self.head_units.setValue(arch.head_units)
        self.freeze_base.setChecked(arch.freeze_base)
        self.fine_tune.setValue(arch.fine_tune_last)
        self.freeze_check.setChecked(config.freeze_all_but is not None)
        if config.freeze_all_but is not None:
            self.freeze_spin.setValue(config.freeze_all_but)
        for w in widgets:
            w.blockSignals(False)
        self.backbone.setVisible(bool(info and info.kind == "backbone"))
        self._apply_enabled()

    def _apply_enabled(self) -> None:
        locked = getattr(self, "_locked", False)
        self.rate.setEnabled(not locked and self.dropout.isChecked())
        self.freeze_spin.setEnabled(not locked and self.freeze_check.isChecked())

    # --- widgets → config -----------------------------------------------------------------------
    def _on_preset(self, index: int) -> None:
        name = self.preset.itemData(index)
        if not name or name == self.store.config.arch.name:
            return
        changes: dict[str, Any] = {"arch.name": name, "layer_trainable": {}, "freeze_all_but": None}
        try:
            defaults = get_architecture(name).defaults
        except Exception:
            defaults = {}
        changes.update({f"arch.{k}": v for k, v in defaults.items()})
        self.store.update(**changes)

    def _write_freeze(self, *_: Any) -> None:
        value = self.freeze_spin.value() if self.freeze_check.isChecked() else None
        self.store.update(freeze_all_but=value)

    def _on_weights(self, index: int) -> None:
        choice = self.weights.itemData(index)
        if choice == FILE_CHOICE:
            current = self.store.config.arch.weights
            start = current if current not in ("imagenet", "none") else ""
            path, _ = QFileDialog.getOpenFileName(self, "Backbone weights file", start,
                                                  "Keras weights (*.h5);;All files (*)")
            if not path:
                self._show_weights(self.store.config.arch.weights)  # cancelled: show the choice in force
                return
            choice = path
        self.store.update(**{"arch.weights": choice})

    def _show_weights(self, weights: str) -> None:
        """Select `weights` in the combo; a file gets its own entry (name shown, path in the tooltip)."""
        combo = self.weights
        combo.blockSignals(True)
        index = combo.findData(weights)
        if index < 0:
            for i in reversed(range(combo.count())):
                if combo.itemData(i) not in ("imagenet", "none", FILE_CHOICE):
                    combo.removeItem(i)
            combo.insertItem(2, f"file: {Path(weights).name}", weights)
            combo.setItemData(2, weights, Qt.ItemDataRole.ToolTipRole)
            index = 2
        combo.setCurrentIndex(index)
        combo.blockSignals(False)

    def set_locked(self, locked: bool) -> None:
        self._locked = locked
        for w in (self.preset, self.dropout, self.batchnorm, self.activation, self.backbone, self.reset,
                  self.freeze_check):
            w.setEnabled(not locked)
        # The tree stays scrollable and expandable; its boxes become read-only.
        self.tree.blockSignals(True)
        for item in (*self._layer_items.values(), *self._block_items.values()):
            item.setFlags(self._flags(bool(item.data(0, WEIGHTS_ROLE))))
        self.tree.blockSignals(False)
        self._apply_enabled()

    # --- inspection results ---------------------------------------------------------------------
    def show_building(self, text: str = "Building the model…") -> None:
        self.status.setText(text)
        self.status.show()
        self.status.setProperty("state", "busy")
        self.status.style().polish(self.status)

    def show_error(self, message: str) -> None:
        """The model cannot be built: say why and show no (stale) layers."""
        self.status.setText(f"⚠ {message}")
        self.status.show()
        self.status.setProperty("state", "error")
        self.status.style().polish(self.status)
        self.params.setText("")
        self.params_bar.setValue(0)
        self.rows = []
        self.tree.clear()
        self._layer_items.clear()
        self._block_items.clear()
        self._shown_names = []

    def show_inspection(self, rows: list[Any], trainable: int, total: int) -> None:
        self.rows = rows
        self.status.setText("")
        self.status.hide()
        self.status.setProperty("state", "")
        self.status.style().polish(self.status)
        self.params.setText(f"<b>{trainable:,}</b> of {total:,} parameters trainable"
                            + (f" · <span style='color:{theme.TEXT_DIM}'>{total - trainable:,} frozen</span>" if total - trainable else ""))
        self.params_bar.setValue(int(1000 * trainable / total) if total else 0)
        self._fill_tree(rows)

    # --- the layer tree -------------------------------------------------------------------------
    def layer_item(self, name: str) -> QTreeWidgetItem:
        """The tree item of one layer (tests, scripts)."""
        return self._layer_items[name]

    def block_item(self, block: str) -> QTreeWidgetItem:
        return self._block_items[block]

    @property
    def grouped(self) -> bool:
        return bool(self._block_items)

    def _fill_tree(self, rows: list[Any]) -> None:
        """Rebuild when the layers changed; otherwise update in place (scroll, expansion, selection stay)."""
        names = [row.name for row in rows]
        tree = self.tree
        tree.blockSignals(True)
        try:
            if names != self._shown_names:
                self._rebuild(rows)
                self._shown_names = names
            for row in rows:
                self._update_layer(self._layer_items[row.name], row)
            for block, item in self._block_items.items():
                self._update_block(item, [r for r in rows if _block(r) == block])
        finally:
            tree.blockSignals(False)
        self._apply_filter()

    def _rebuild(self, rows: list[Any]) -> None:
        tree = self.tree
        tree.setUpdatesEnabled(False)
        tree.clear()
        self._layer_items.clear()
        self._block_items.clear()
        # Group by block only where the network has blocks of its own (backbones), not just LayerLab's
        # "input" and "head" around a small preset.
        grouped = any(row.block not in (None, "input", "head") for row in rows)
        arch = self.store.config.arch.name
        if arch != self._expanded_arch:  # another network: start from the default view
            self._expanded_arch = arch
            self._expanded = {"head"}
        mono = mono_font()
        bold = QFont()
        bold.setBold(True)
        for row in rows:
            parent: QTreeWidget | QTreeWidgetItem = tree
            if grouped:
                block = _block(row)
                parent = self._block_items.get(block)
                if parent is None:
                    parent = QTreeWidgetItem(tree)
                    parent.setText(0, block)
                    parent.setData(0, KIND_ROLE, "block")
                    parent.setData(0, NAME_ROLE, block)
                    parent.setFont(0, bold)
                    parent.setFont(PARAMS, mono)
                    parent.setTextAlignment(PARAMS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    self._block_items[block] = parent
            item = QTreeWidgetItem(parent)
            item.setText(0, row.name)
            item.setData(0, KIND_ROLE, "layer")
            item.setData(0, NAME_ROLE, row.name)
            item.setText(1, row.kind)
            item.setText(OUTPUT, row.output_shape)
            item.setFont(OUTPUT, mono)
            item.setFont(PARAMS, mono)
            item.setTextAlignment(PARAMS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self._layer_items[row.name] = item
        for block, item in self._block_items.items():
            item.setExpanded(block in self._expanded)
        tree.setRootIsDecorated(grouped)
        self.expand_button.setVisible(grouped)
        self.filter.setVisible(len(rows) > 40)
        tree.resizeColumnToContents(0)
        tree.setColumnWidth(0, max(150, min(tree.columnWidth(0), 190)))  # long names: elided, full in tooltip
        tree.setUpdatesEnabled(True)

    def _flags(self, checkable: bool) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsSelectable
        if checkable:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        if not checkable or not self._locked:
            flags |= Qt.ItemFlag.ItemIsEnabled
        return flags

    def _update_layer(self, item: QTreeWidgetItem, row: Any) -> None:
        item.setData(0, WEIGHTS_ROLE, bool(row.has_weights))
        item.setFlags(self._flags(bool(row.has_weights)))
        if row.has_weights:
            item.setCheckState(0, Qt.CheckState.Checked if row.trainable else Qt.CheckState.Unchecked)
            item.setToolTip(0, f"{row.name}: {'trainable' if row.trainable else 'frozen'} — tick to train it, untick to freeze it")
        else:
            item.setData(0, Qt.ItemDataRole.CheckStateRole, None)
            item.setToolTip(0, f"{row.name}: no weights, nothing to train or freeze")
        params = f"{row.trainable_params:,}" if row.trainable_params == row.params else f"{row.trainable_params:,} / {row.params:,}"
        item.setText(PARAMS, params if row.params else "–")
        brush = QBrush(QColor(theme.TEXT if row.has_weights and row.trainable else theme.TEXT_DIM))
        for c in range(len(COLUMNS)):
            item.setForeground(c, brush)

    def _update_block(self, item: QTreeWidgetItem, rows: list[Any]) -> None:
        weighted = [r for r in rows if r.has_weights]
        trainable = sum(r.trainable for r in weighted)
        item.setData(0, WEIGHTS_ROLE, bool(weighted))
        item.setFlags(self._flags(bool(weighted)))
        if weighted:
            state = (Qt.CheckState.Checked if trainable == len(weighted) else
                     Qt.CheckState.Unchecked if trainable == 0 else Qt.CheckState.PartiallyChecked)
            item.setCheckState(0, state)
            item.setToolTip(0, f"{item.text(0)}: {trainable} of {len(weighted)} layers with weights trainable. "
                               "Tick to train the whole block, untick to freeze it; right-click to freeze everything "
                               "up to here.")
        else:
            item.setData(0, Qt.ItemDataRole.CheckStateRole, None)
            item.setToolTip(0, f"{item.text(0)}: no layers with weights")
        item.setText(1, f"{len(rows)} layer{'s' if len(rows) != 1 else ''}")
        item.setText(OUTPUT, rows[-1].output_shape if rows else "")
        total = sum(r.params for r in rows)
        train = sum(r.trainable_params for r in rows)
        item.setText(PARAMS, "–" if not total else _compact(train) if train == total else f"{_compact(train)} / {_compact(total)}")
        item.setToolTip(PARAMS, f"{train:,} of {total:,} parameters trainable")
        color = theme.TEXT if weighted and trainable else theme.TEXT_DIM
        for c in range(len(COLUMNS)):
            item.setForeground(c, QBrush(QColor(color)))

    def _block_rows(self, block: str) -> list[Any]:
        return [r for r in self.rows if _block(r) == block]

    # --- tree → config --------------------------------------------------------------------------
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != 0 or not item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            return
        on = item.checkState(0) == Qt.CheckState.Checked
        overrides = dict(self.store.config.layer_trainable)
        if item.data(0, KIND_ROLE) == "block":
            for row in self._block_rows(item.data(0, NAME_ROLE)):
                if row.has_weights:
                    overrides[row.name] = on
        else:
            overrides[item.data(0, NAME_ROLE)] = on
        self.store.update(layer_trainable=overrides)

    def freeze_through(self, block: str) -> None:
        """Freeze every layer with weights up to and including `block`; train all after it."""
        overrides = dict(self.store.config.layer_trainable)
        blocks = list(self._block_items)
        if block not in blocks:
            return
        frozen = set(blocks[: blocks.index(block) + 1])
        for row in self.rows:
            if row.has_weights:
                overrides[row.name] = _block(row) not in frozen
        self.store.update(layer_trainable=overrides)

    def _context_menu(self, pos: Any) -> None:
        item = self.tree.itemAt(pos)
        if item is None or self._locked or not self._block_items:
            return
        if item.data(0, KIND_ROLE) != "block":
            item = item.parent()
        if item is None:
            return
        block = item.data(0, NAME_ROLE)
        menu = QMenu(self)
        menu.addAction(f"Freeze through {block}, train the rest", lambda: self.freeze_through(block))
        menu.addAction(f"Train only {block} and after", lambda: self.freeze_through(self._previous_block(block)))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _previous_block(self, block: str) -> str:
        blocks = list(self._block_items)
        i = blocks.index(block)
        return blocks[i - 1] if i else block

    def _on_expanded(self, item: QTreeWidgetItem, expanded: bool) -> None:
        if item.data(0, KIND_ROLE) == "block" and not self.filter.text():
            (self._expanded.add if expanded else self._expanded.discard)(item.data(0, NAME_ROLE))

    def _toggle_expand(self) -> None:
        expand = not all(item.isExpanded() for item in self._block_items.values())
        for item in self._block_items.values():
            item.setExpanded(expand)

    def _apply_filter(self) -> None:
        text = self.filter.text().strip().lower()
        tree = self.tree
        for i in range(tree.topLevelItemCount()):
            top = tree.topLevelItem(i)
            if top.childCount():
                block_hit = not text or text in top.text(0).lower()
                shown = 0
                for j in range(top.childCount()):
                    child = top.child(j)
                    hit = block_hit or text in child.text(0).lower() or text in child.text(1).lower()
                    child.setHidden(not hit)
                    shown += hit
                top.setHidden(not shown)
                if text:
                    top.setExpanded(bool(shown))
                else:
                    top.setExpanded(top.data(0, NAME_ROLE) in self._expanded)
            else:
                top.setHidden(bool(text) and text not in top.text(0).lower() and text not in top.text(1).lower())


def _compact(n: int) -> str:
    """12,345 → 12.3k; block rows sum many layers and the column is narrow."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return f"{n:,}"


def _block(row: Any) -> str:
    return row.block or "other"
