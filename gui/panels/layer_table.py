"""The layer table: a Qt item model of the model's layers, grouped by block for big networks.

`LayerTreeModel` holds the rows (a `QStandardItemModel`: block items with layer children, or a
flat list); `LayerFilter` shows the layers whose name or kind matches the filter text (and whole
blocks whose name matches); `LayerTree` is the view with its filter box, expansion memory and
context menu. A tick the user makes is not applied here: it is announced (`check_requested`)
and comes back as new rows once the config and the model agree, so the table never shows a
freezing state the config does not hold.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from gui import theme
from gui.widgets import mono_font

COLUMNS = ("Layer", "Kind", "Params", "Output")
KIND, PARAMS, OUTPUT = 1, 2, 3
KIND_ROLE = Qt.ItemDataRole.UserRole  # "block" or "layer"
NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # the block's or layer's name
WEIGHTS_ROLE = Qt.ItemDataRole.UserRole + 2  # whether it has weights (can be frozen)
FILTER_SHOWN_FROM = 40  # rows: the filter box appears for bigger networks

TABLE_TIP = (
    "Tick or untick a layer to train or freeze it. Layers without weights (pooling, activations) have nothing "
    "to freeze. Pretrained networks are grouped by block: a block's box trains or freezes all its layers "
    "(half-filled when mixed); right-click a block to freeze everything up to it."
)


def block_of(row: Any) -> str:
    return row.block or "other"


class LayerTreeModel(QStandardItemModel):
    """Rows of the layer table; `check_requested(kind, name, on)` when the user ticks a box."""

    check_requested = Signal(str, str, bool)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.locked = False
        self.layers: dict[str, QStandardItem] = {}
        self.blocks: dict[str, QStandardItem] = {}
        self._names: list[str] = []

    # --- user edits -------------------------------------------------------------------------------
    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        """A view's edit of a check box becomes a request; the rows themselves change only from
        `set_rows` (the config is the truth)."""
        if role == Qt.ItemDataRole.CheckStateRole and index.column() == 0:
            on = Qt.CheckState(value) == Qt.CheckState.Checked
            self.check_requested.emit(index.data(KIND_ROLE), index.data(NAME_ROLE), on)
            return False
        return super().setData(index, value, role)

    # --- rows --------------------------------------------------------------------------------------
    def set_rows(self, rows: tuple[Any, ...]) -> bool:
        """Show `rows`; rebuilt when the layers changed (True), else updated in place."""
        names = [row.name for row in rows]
        rebuilt = names != self._names
        if rebuilt:
            self._rebuild(rows)
            self._names = names
        for row in rows:
            self._update_layer(self.layers[row.name], row)
        for block, item in self.blocks.items():
            self._update_block(item, [r for r in rows if block_of(r) == block])
        return rebuilt

    def clear_rows(self) -> None:
        self.removeRows(0, self.rowCount())
        self.layers.clear()
        self.blocks.clear()
        self._names = []

    @property
    def grouped(self) -> bool:
        return bool(self.blocks)

    def set_locked(self, locked: bool) -> None:
        self.locked = locked
        for item in (*self.layers.values(), *self.blocks.values()):
            item.setFlags(self._flags(bool(item.data(WEIGHTS_ROLE))))

    def _rebuild(self, rows: tuple[Any, ...]) -> None:
        self.clear_rows()
        # Group by block only where the network has blocks of its own (backbones), not just
        # LayerLab's "input" and "head" around a small preset.
        grouped = any(row.block not in (None, "input", "head") for row in rows)
        mono = mono_font()
        bold = QFont()
        bold.setBold(True)
        root = self.invisibleRootItem()
        for row in rows:
            parent = root
            if grouped:
                block = block_of(row)
                parent = self.blocks.get(block)
                if parent is None:
                    parent = self._new_row(root, block, "block", bold, mono)
                    self.blocks[block] = parent
            self.layers[row.name] = self._new_row(parent, row.name, "layer", None, mono)

    @staticmethod
    def _new_row(parent: QStandardItem, name: str, kind: str, font: QFont | None, mono: QFont) -> QStandardItem:
        cells = [QStandardItem(name), QStandardItem(), QStandardItem(), QStandardItem()]
        cells[0].setData(kind, KIND_ROLE)
        cells[0].setData(name, NAME_ROLE)
        if font is not None:
            cells[0].setFont(font)
        for column in (PARAMS, OUTPUT):
            cells[column].setFont(mono)
        cells[PARAMS].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for cell in cells:
            cell.setEditable(False)
        parent.appendRow(cells)
        return cells[0]

    def _cells(self, item: QStandardItem) -> list[QStandardItem]:
        parent = item.parent() or self.invisibleRootItem()
        return [parent.child(item.row(), column) for column in range(len(COLUMNS))]

    def _flags(self, checkable: bool) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsSelectable
        if checkable:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        if not checkable or not self.locked:
            flags |= Qt.ItemFlag.ItemIsEnabled
        return flags

    def _update_layer(self, item: QStandardItem, row: Any) -> None:
        cells = self._cells(item)
        item.setData(bool(row.has_weights), WEIGHTS_ROLE)
        item.setFlags(self._flags(bool(row.has_weights)))
        if row.has_weights:
            item.setCheckState(Qt.CheckState.Checked if row.trainable else Qt.CheckState.Unchecked)
            item.setToolTip(
                f"{row.name}: {'trainable' if row.trainable else 'frozen'} — tick to train it, untick to freeze it"
            )
        else:
            item.setData(None, Qt.ItemDataRole.CheckStateRole)
            item.setToolTip(f"{row.name}: no weights, nothing to train or freeze")
        cells[KIND].setText(row.kind)
        cells[KIND].setToolTip(row.kind)
        cells[OUTPUT].setText(row.output_shape)
        params = (
            f"{row.trainable_params:,}"
            if row.trainable_params == row.params
            else f"{row.trainable_params:,} / {row.params:,}"
        )
        cells[PARAMS].setText(params if row.params else "–")
        brush = QBrush(QColor(theme.TEXT if row.has_weights and row.trainable else theme.TEXT_DIM))
        for cell in cells:
            cell.setForeground(brush)

    def _update_block(self, item: QStandardItem, rows: list[Any]) -> None:
        cells = self._cells(item)
        weighted = [r for r in rows if r.has_weights]
        trainable = sum(r.trainable for r in weighted)
        item.setData(bool(weighted), WEIGHTS_ROLE)
        item.setFlags(self._flags(bool(weighted)))
        name = item.data(NAME_ROLE)
        if weighted:
            state = (
                Qt.CheckState.Checked
                if trainable == len(weighted)
                else Qt.CheckState.Unchecked
                if trainable == 0
                else Qt.CheckState.PartiallyChecked
            )
            item.setCheckState(state)
            item.setToolTip(
                f"{name}: {trainable} of {len(weighted)} layers with weights trainable. Tick to train the "
                "whole block, untick to freeze it; right-click to freeze everything up to here."
            )
        else:
            item.setData(None, Qt.ItemDataRole.CheckStateRole)
            item.setToolTip(f"{name}: no layers with weights")
        cells[KIND].setText(f"{len(rows)} layer{'s' if len(rows) != 1 else ''}")
        cells[OUTPUT].setText(rows[-1].output_shape if rows else "")
        total = sum(r.params for r in rows)
        train = sum(r.trainable_params for r in rows)
        cells[PARAMS].setText(
            "–" if not total else _compact(train) if train == total else f"{_compact(train)} / {_compact(total)}"
        )
        cells[PARAMS].setToolTip(f"{train:,} of {total:,} parameters trainable")
        brush = QBrush(QColor(theme.TEXT if weighted and trainable else theme.TEXT_DIM))
        for cell in cells:
            cell.setForeground(brush)


class LayerFilter(QSortFilterProxyModel):
    """Layers whose name or kind contains the text, and every layer of a block whose name does."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.setRecursiveFilteringEnabled(True)  # a block stays while any of its layers matches

    def set_text(self, text: str) -> None:
        self.text = text.strip().lower()
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self.text:
            return True
        model = self.sourceModel()
        name = str(model.index(source_row, 0, source_parent).data() or "").lower()
        kind = str(model.index(source_row, KIND, source_parent).data() or "").lower()
        parent_name = str(source_parent.data() or "").lower() if source_parent.isValid() else ""
        return self.text in name or self.text in kind or (bool(parent_name) and self.text in parent_name)


class LayerTree(QWidget):
    """The table with its filter box; remembers which blocks are open per network."""

    freeze_through_requested = Signal(str)  # freeze every block up to and including this one
    train_from_requested = Signal(str)  # train this block and the ones after it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LayerTreeModel(self)
        self.proxy = LayerFilter(self)
        self.proxy.setSourceModel(self.model)
        self._expanded: set[str] = {"head"}
        self._network = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        tools = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter layers…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setToolTip("Show only the layers (or blocks) whose name or kind contains this text")
        self.filter.textChanged.connect(self._on_filter)
        self.filter.hide()
        self.expand_button = QPushButton("Expand / collapse")
        self.expand_button.setObjectName("FlatButton")
        self.expand_button.setToolTip("Open or close every block")
        self.expand_button.clicked.connect(self._toggle_expand)
        self.expand_button.hide()
        tools.addWidget(self.filter, 1)
        tools.addWidget(self.expand_button)
        layout.addLayout(tools)
        self.view = QTreeView()
        self.view.setObjectName("LayerTable")
        self.view.setModel(self.proxy)
        self.view.setToolTip(TABLE_TIP)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setUniformRowHeights(True)
        self.view.setIndentation(14)
        self.view.setRootIsDecorated(False)
        header = self.view.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(KIND, QHeaderView.ResizeMode.Interactive)  # kinds can be long: elided
        self.view.setColumnWidth(KIND, 100)
        for column in (PARAMS, OUTPUT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.view.expanded.connect(lambda index: self._remember(index, True))
        self.view.collapsed.connect(lambda index: self._remember(index, False))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.setMinimumHeight(160)
        layout.addWidget(self.view, 1)

    # --- rows --------------------------------------------------------------------------------------
    def show_rows(self, rows: tuple[Any, ...], network: str) -> None:
        if network != self._network:  # another network: start from the default view
            self._network = network
            self._expanded = {"head"}
        if self.model.set_rows(rows):
            grouped = self.model.grouped
            self.view.setRootIsDecorated(grouped)
            self.expand_button.setVisible(grouped)
            self.filter.setVisible(len(rows) > FILTER_SHOWN_FROM)
            self.view.resizeColumnToContents(0)
            self.view.setColumnWidth(
                0, max(150, min(self.view.columnWidth(0), 190))
            )  # long names: elided, full in tooltip
            self._restore_expansion()

    def clear(self) -> None:
        self.model.clear_rows()

    def set_locked(self, locked: bool) -> None:
        self.model.set_locked(locked)

    # --- reading the table (tests, scripts) ------------------------------------------------------------
    def visible_blocks(self) -> list[str]:
        return [
            self.proxy.index(r, 0).data(NAME_ROLE)
            for r in range(self.proxy.rowCount())
            if self.proxy.index(r, 0).data(KIND_ROLE) == "block"
        ]

    def is_expanded(self, block: str) -> bool:
        return self.view.isExpanded(self.proxy.mapFromSource(self.model.blocks[block].index()))

    # --- expansion and filtering ---------------------------------------------------------------------------
    def _remember(self, index: QModelIndex, expanded: bool) -> None:
        if index.data(KIND_ROLE) == "block" and not self.proxy.text:
            (self._expanded.add if expanded else self._expanded.discard)(index.data(NAME_ROLE))

    def _restore_expansion(self) -> None:
        for block, item in self.model.blocks.items():
            index = self.proxy.mapFromSource(item.index())
            if index.isValid():
                self.view.setExpanded(index, bool(self.proxy.text) or block in self._expanded)

    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self._restore_expansion()

    def _toggle_expand(self) -> None:
        blocks = list(self.model.blocks)
        expand = not all(self.is_expanded(b) for b in blocks)
        for block in blocks:
            self.view.setExpanded(self.proxy.mapFromSource(self.model.blocks[block].index()), expand)

    def _context_menu(self, pos: Any) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid() or self.model.locked or not self.model.blocks:
            return
        if index.data(KIND_ROLE) != "block":
            index = index.parent()
        if not index.isValid():
            return
        block = index.sibling(index.row(), 0).data(NAME_ROLE)
        menu = QMenu(self)
        menu.addAction(f"Freeze through {block}, train the rest", lambda: self.freeze_through_requested.emit(block))
        menu.addAction(f"Train only {block} and after", lambda: self.train_from_requested.emit(block))
        menu.exec(self.view.viewport().mapToGlobal(pos))


def _compact(n: int) -> str:
    """12,345 → 12.3k; block rows sum many layers and the column is narrow."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return f"{n:,}"
