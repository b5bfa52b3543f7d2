"""File → Export…: a run's model as keras, SavedModel, TensorFlow Lite (optionally quantized) or ONNX,
written and verified in the background (the export controller's view). Reports the agreement with
the Keras model, the largest probability difference and the size; says plainly when it fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine import MIN_AGREEMENT, MIN_AGREEMENT_INT8
from engine import missing_export_packages as missing_packages
from gui.widgets import hint, set_state

FORMATS = (
    ("keras", "Keras (.keras)"),
    ("savedmodel", "TensorFlow SavedModel"),
    ("tflite", "TensorFlow Lite (.tflite)"),
    ("onnx", "ONNX (.onnx)"),
)
QUANTIZE = (
    (None, "none (float32)"),
    ("float16", "float16 weights (half the size)"),
    ("int8", "int8 (a quarter; calibrated on training images)"),
)
TIP = (
    "The exported model is run on up to 200 validation images and compared with the Keras model: the export is "
    f"kept only if their top-1 answers agree ({MIN_AGREEMENT:.0%}, or {MIN_AGREEMENT_INT8:.0%} for int8)."
)


def _size(nbytes: int) -> str:
    for unit, step in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= step:
            return f"{nbytes / step:.1f} {unit}"
    return f"{nbytes} B"


class ExportDialog(QDialog):
    export_requested = Signal(str, str, object, str)  # run folder, format, quantize (None, float16, int8), out folder

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export a model")
        self.resize(640, 330)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.run = QComboBox()
        self.run.setToolTip(
            "The run whose model is exported (the one selected in the Runs tab, else the one shown, is chosen first)"
        )
        self.format = QComboBox()
        for fmt, label in FORMATS:
            missing = missing_packages(fmt)
            self.format.addItem(label + (f" — needs {', '.join(missing)}" if missing else ""), fmt)
        self.quantize = QComboBox()
        for value, label in QUANTIZE:
            self.quantize.addItem(label, value)
        self.quantize.setToolTip("TensorFlow Lite only: smaller weights, checked against the original like the rest")
        out_row = QHBoxLayout()
        self.out = QLineEdit()
        self.out.setToolTip("A new (or empty) folder: the model and its companions (labels, preprocessing, usage)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        form.addRow("Run", self.run)
        form.addRow("Format", self.format)
        form.addRow("Quantize", self.quantize)
        form.addRow("Into folder", out_row)
        layout.addLayout(form)
        layout.addWidget(hint(TIP))
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.result = QLabel("")
        self.result.setObjectName("ExportResult")
        self.result.setWordWrap(True)
        layout.addWidget(self.result, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("PrimaryButton")
        self.export_button.clicked.connect(self._export)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        for combo in (self.run, self.format, self.quantize):
            combo.currentIndexChanged.connect(self._suggest_out)
        self.format.currentIndexChanged.connect(self._quantize_rule)
        self._quantize_rule()

    # --- what the controller tells it --------------------------------------------------------------
    def show_format(self, fmt: str, quantize: str | None) -> None:
        """The format (and quantisation) chosen last time."""
        index = self.format.findData(fmt)
        self.format.setCurrentIndex(max(0, index))
        self._quantize_rule()
        if self.quantize.isEnabled():
            self.quantize.setCurrentIndex(max(0, self.quantize.findData(quantize)) if quantize else 0)

    def show_runs(self, runs: list[tuple[str, str]], current: str | None) -> None:
        """(path, label) per run; `current` chosen first."""
        self.run.clear()
        for path, label in runs:
            self.run.addItem(label, path)
        index = self.run.findData(current) if current else -1
        self.run.setCurrentIndex(max(0, index))
        self.export_button.setEnabled(bool(runs))
        if not runs:
            self.result.setText("No run with a saved model yet: train one first.")
        self._suggest_out()

    def show_busy(self, text: str) -> None:
        self.export_button.setEnabled(False)
        self.progress.show()
        set_state(self.result, "")
        self.result.setText(text)

    def show_report(self, report: Any) -> None:
        self.progress.hide()
        self.export_button.setEnabled(True)
        quantized = f", {report.quantize}" if report.quantize else ""
        set_state(self.result, "on")
        self.result.setText(
            f"✓ Exported ({report.format}{quantized}): {report.path}\n"
            f"Agreement with the Keras model: {report.agreement:.1%} of {report.samples} images · largest probability "
            f"difference {report.max_abs_diff:.2e} · {_size(report.size_bytes)}"
            + (f"\nNote: {report.note}" if report.note else "")
        )
        self._suggest_out()

    def show_failed(self, text: str) -> None:
        self.progress.hide()
        self.export_button.setEnabled(True)
        set_state(self.result, "error")
        self.result.setText(f"✗ {text}")

    # --- inside the dialog ---------------------------------------------------------------------------
    def _quantize_rule(self) -> None:
        tflite = self.format.currentData() == "tflite"
        if not tflite:
            self.quantize.setCurrentIndex(0)
        self.quantize.setEnabled(tflite)

    def _suggest_out(self) -> None:
        """A new folder inside the run: `export-<format>[-<quantize>]`, numbered if taken."""
        run = self.run.currentData()
        if not run:
            return
        stem = f"export-{self.format.currentData()}" + (
            f"-{self.quantize.currentData()}" if self.quantize.currentData() else ""
        )
        candidate = Path(run) / stem
        number = 2
        while candidate.exists():
            candidate = Path(run) / f"{stem}-{number}"
            number += 1
        self.out.setText(str(candidate))

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export into (a new or empty folder)", self.out.text())
        if path:
            self.out.setText(path)

    def _export(self) -> None:
        run, out = self.run.currentData(), self.out.text().strip()
        if run and out:
            self.export_requested.emit(run, self.format.currentData(), self.quantize.currentData(), out)
