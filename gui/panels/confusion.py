"""A compact, painted confusion matrix: rows are the true class, columns the predicted class.

Correct predictions (the diagonal) are shaded in the accent colour, confusions in the error colour;
the shade is the cell's share of its true class, so rare classes read as clearly as common ones.
Clicking an off-diagonal cell emits `cell_clicked(true_index, predicted_index)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from gui import theme

MAX_CELL = 26.0
MAX_LABEL = 64  # px: longer class names are elided (full name in the tooltip)
NUMBERS_UP_TO = 20  # more classes: heat-map only, counts in the tooltips


def _mix(a: str, b: str, t: float) -> QColor:
    ca, cb = QColor(a), QColor(b)
    t = min(1.0, max(0.0, t))
    return QColor(
        round(ca.red() + (cb.red() - ca.red()) * t),
        round(ca.green() + (cb.green() - ca.green()) * t),
        round(ca.blue() + (cb.blue() - ca.blue()) * t),
    )


@dataclass(frozen=True)
class _Geometry:
    left: float  # x of the first column
    top: float  # y of the first row
    cell: float
    labels: bool
    rotated: bool  # column labels drawn vertically
    height: int


class ConfusionMatrixView(QWidget):
    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix: list[list[int]] = []
        self.names: list[str] = []
        self.selected: tuple[int, int] | None = None
        self._font = QFont(self.font())
        self._font.setPointSizeF(8)
        self.setMouseTracking(True)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setSizePolicy(policy)

    # data ---------------------------------------------------------------------------------
    def set_matrix(self, matrix: Sequence[Sequence[int]], names: Sequence[str] | None = None) -> None:
        self.matrix = [[int(v) for v in row] for row in matrix]
        n = len(self.matrix)
        given = [str(name) for name in (names or [])]
        self.names = given if len(given) == n else [str(i) for i in range(n)]
        self.selected = None
        self._fit_height()
        self.update()

    def set_selected(self, cell: tuple[int, int] | None) -> None:
        self.selected = cell
        self.update()

    def count(self, true: int, predicted: int) -> int:
        return self.matrix[true][predicted]

    def tooltip_for(self, true: int, predicted: int) -> str:
        value = self.matrix[true][predicted]
        total = sum(self.matrix[true])
        share = f" ({value / total:.0%} of {self.names[true]})" if total else ""
        return f"true {self.names[true]} → predicted {self.names[predicted]}: {value:,}{share}"

    # geometry -----------------------------------------------------------------------------
    def _geometry(self, width: int) -> _Geometry:
        n = max(1, len(self.matrix))
        fm = self._metrics()
        line = fm.height()
        labels = n <= NUMBERS_UP_TO
        longest = max((fm.horizontalAdvance(name) for name in self.names), default=0.0)
        label_w = min(MAX_LABEL, longest) + 6 if labels else 0.0
        left = line + 2 + label_w  # rotated "true" caption + row labels
        cell = max(3.0, min(MAX_CELL, (width - left - 2) / n))
        rotated = labels and longest > cell - 4
        top = line + 2 + ((min(MAX_LABEL, longest) + 6) if rotated else (line + 2) if labels else 0.0)
        return _Geometry(left, top, cell, labels, rotated, math.ceil(top + n * cell + 2))

    def _metrics(self) -> QFontMetricsF:
        """Metrics of the small cell font, shared by the layout and the painting."""
        return QFontMetricsF(self._font)

    def _fit_height(self) -> None:
        self.setFixedHeight(self._geometry(max(self.width(), 1)).height if self.matrix else 0)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.matrix:
            height = self._geometry(self.width()).height
            if height != self.height():
                self.setFixedHeight(height)

    def sizeHint(self) -> QSize:
        return QSize(300, self._geometry(300).height if self.matrix else 0)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        if not self.matrix:
            return None
        g = self._geometry(self.width())
        col = math.floor((pos.x() - g.left) / g.cell)
        row = math.floor((pos.y() - g.top) / g.cell)
        n = len(self.matrix)
        return (row, col) if 0 <= row < n and 0 <= col < n else None

    def cell_rect(self, true: int, predicted: int) -> QRectF:
        g = self._geometry(self.width())
        return QRectF(g.left + predicted * g.cell, g.top + true * g.cell, g.cell, g.cell)

    # interaction --------------------------------------------------------------------------
    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            cell = self.cell_at(QPointF(event.pos()))
            if cell is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), self.tooltip_for(*cell), self)
            return True
        return super().event(event)

    def mouseMoveEvent(self, event) -> None:
        cell = self.cell_at(event.position())
        clickable = cell is not None and cell[0] != cell[1] and self.matrix[cell[0]][cell[1]] > 0
        self.setCursor(Qt.CursorShape.PointingHandCursor if clickable else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position())
        if (
            event.button() == Qt.MouseButton.LeftButton
            and cell is not None
            and cell[0] != cell[1]
            and self.matrix[cell[0]][cell[1]] > 0
        ):
            self.cell_clicked.emit(*cell)
            return
        super().mousePressEvent(event)

    # painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        if not self.matrix:
            return
        n = len(self.matrix)
        g = self._geometry(self.width())
        painter = QPainter(self)
        painter.setFont(self._font)
        fm = painter.fontMetrics()
        line = fm.height()
        dim = QColor(theme.TEXT_DIM)
        grid_w, grid_h = g.cell * n, g.cell * n
        # axis captions
        painter.setPen(dim)
        painter.drawText(QRectF(g.left, 0, grid_w, line), Qt.AlignmentFlag.AlignCenter, "predicted →")
        painter.save()
        painter.translate(0, g.top + grid_h / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-grid_h / 2, 0, grid_h, line), Qt.AlignmentFlag.AlignCenter, "← true")
        painter.restore()
        # class labels
        if g.labels:
            label_w = g.left - line - 2 - 4
            for i, name in enumerate(self.names):
                text = fm.elidedText(name, Qt.TextElideMode.ElideRight, int(MAX_LABEL))
                y = g.top + i * g.cell
                painter.drawText(
                    QRectF(line + 2, y, label_w, g.cell),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                    text,
                )
                x = g.left + i * g.cell
                if g.rotated:
                    painter.save()
                    painter.translate(x, g.top - 4)
                    painter.rotate(-90)
                    painter.drawText(
                        QRectF(0, 0, g.top - line - 6, g.cell),
                        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                        text,
                    )
                    painter.restore()
                else:
                    painter.drawText(QRectF(x, line + 2, g.cell, line), Qt.AlignmentFlag.AlignCenter, text)
        # cells
        bold = QFont(self._font)
        bold.setBold(True)
        gap = 1.0 if g.cell >= 6 else 0.0
        for r, row in enumerate(self.matrix):
            total = sum(row)
            for c, value in enumerate(row):
                share = value / total if total else 0.0
                rect = self.cell_rect(r, c).adjusted(0, 0, -gap, -gap)
                if value == 0:
                    color = QColor(theme.SURFACE_ALT)
                elif r == c:
                    color = _mix(theme.SURFACE_ALT, theme.ACCENT, 0.25 + 0.75 * share)
                else:
                    color = _mix(theme.SURFACE_ALT, theme.BAD, 0.3 + 0.7 * math.sqrt(share))
                painter.fillRect(rect, color)
                if r == c and value:
                    painter.setPen(QPen(QColor(theme.ACCENT), 1))
                    painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
                if g.labels and value:
                    painter.setFont(bold if r == c else self._font)
                    text = f"{value}"
                    if painter.fontMetrics().horizontalAdvance(text) <= rect.width() - 2:
                        light = color.lightnessF() > 0.55
                        painter.setPen(QColor(theme.BACKGROUND if light else (theme.TEXT if r != c else "#ffffff")))
                        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
                    painter.setFont(self._font)
        if self.selected is not None and 0 <= self.selected[0] < n and 0 <= self.selected[1] < n:
            painter.setPen(QPen(QColor(theme.TEXT), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.cell_rect(*self.selected).adjusted(1, 1, -1 - gap, -1 - gap))
        painter.end()
