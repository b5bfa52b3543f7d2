"""Export a run's model for other programs, and prove the export computes what the model does.

`export_run(run_dir, fmt, out)` writes, into the new folder `out`: the model (`model.keras`, a
SavedModel folder `saved_model/`, `model.tflite` or `model.onnx`), `preprocess.json` (the run's
preprocessing spec), `labels.txt` (the class names, one per line, in output order) and
`README.txt` (a short usage note). Right after writing, the model is loaded with its own runtime
and compared with the Keras model on up to `samples` validation images of the run's data (or,
when that data cannot be loaded here, generated images of the right shape, and the report says
so): the top-1 agreement and the largest probability difference are reported, and an export
that agrees on less than 99 % of the images (97 % for int8) is refused and not left behind.

The folder is built under a hidden temporary name beside `out` and renamed when verified, so
`out` holds a complete, checked export or nothing. The optional converters and runtimes are the
`export` extra (tf2onnx, onnx, onnxruntime, ai-edge-litert): a missing one is an `ExportError`
naming the extra. Cheap to import; TensorFlow is imported when a model is exported.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.cancel import Cancelled
from engine.core.errors import ExportError, LayerLabError
from engine.core.files import current_umask, printable_path
from engine.datasets import load_dataset
from engine.export.formats import EXTRA_HINT, MODEL_NAMES, missing_packages, size_of, write
from engine.inference.classifier import resolve_run
from engine.runs.folders import load_run

FORMATS: tuple[str, ...] = ("keras", "savedmodel", "tflite", "onnx")
QUANTIZATIONS: tuple[str, ...] = ("float16", "int8")
MIN_AGREEMENT = 0.99
MIN_AGREEMENT_INT8 = 0.97
GENERATED_SEED = 12


@dataclass(frozen=True)
class ExportReport:
    path: str  # the model file (the SavedModel's folder) inside `out`
    format: str
    agreement: float  # share of the compared images whose top-1 class is the Keras model's
    max_abs_diff: float  # largest difference of any class probability
    size_bytes: int  # of the model file (or SavedModel folder)
    note: str = ""  # e.g. that generated inputs were used, or which interpreter checked it
    samples: int = 0  # images compared
    quantize: str | None = None


def check_export(run_dir: str | Path, fmt: str, out: str | Path, quantize: str | None = None) -> None:
    """The checks that need no TensorFlow: format, quantization, the extra's packages, the run
    and its model archive, the destination. `ExportError` (or `RunError`) with one sentence."""

    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
    if quantize is not None and (quantize not in QUANTIZATIONS or fmt != "tflite"):
        raise ExportError(f"--quantize {quantize} applies to tflite only, with float16 or int8")
    missing = missing_packages(fmt)
    if missing:
        raise ExportError(f"the {fmt} export needs {', '.join(missing)}, from the 'export' extra: {EXTRA_HINT}")
    resolve_run(run_dir)
    target = Path(out).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{printable_path(target)} already exists; export into a new (or empty) folder")


def export_run(
    run_dir: str | Path,
    fmt: str,
    out: str | Path,
    *,
    quantize: str | None = None,
    samples: int = 200,
    cancel: Any = None,
) -> ExportReport:
    """Write and verify an export of the run's model; see the module docstring."""

    check_export(run_dir, fmt, out, quantize)
    run = load_run(run_dir)
    model = run.load_model()
    images, calibration, note = comparison_images(run, samples)
    _check_cancel(cancel)
    target = Path(out).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        report = _write_and_verify(run, model, fmt, staging, quantize, images, calibration, cancel)
        _write_companions(run, fmt, staging, quantize)
        _check_cancel(cancel)
        if target.exists():
            target.rmdir()  # empty (checked above)
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp's folder is private; the export is not
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    notes = "; ".join(n for n in (note, report.note) if n)
    return ExportReport(
        str(target / MODEL_NAMES[fmt]),
        fmt,
        report.agreement,
        report.max_abs_diff,
        report.size_bytes,
        notes,
        len(images),
        quantize,
    )


def _write_and_verify(
    run: Any,
    model: Any,
    fmt: str,
    folder: Path,
    quantize: str | None,
    images: np.ndarray,
    calibration: np.ndarray,
    cancel: Any,
) -> ExportReport:
    # The reference, computed first: the exporters also need a model that has been called once.
    expected = np.asarray(model.predict(images, batch_size=32, verbose=0), np.float64)
    try:
        written = write(fmt, model, folder, quantize=quantize, calibration=calibration)
    except LayerLabError:
        raise
    except Exception as err:  # a converter lacking an op, a model the format cannot express...
        raise ExportError(f"this model cannot be exported as {_name(fmt, quantize)}: {_first_line(err)}") from None
    _check_cancel(cancel)
    try:
        got = written.run(images)
    except Exception as err:
        raise ExportError(
            f"the {_name(fmt, quantize)} export was written but its runtime cannot run it: {_first_line(err)}"
        ) from None
    agreement = float((got.argmax(axis=1) == expected.argmax(axis=1)).mean())
    max_diff = float(np.abs(got - expected).max())
    needed = MIN_AGREEMENT_INT8 if quantize == "int8" else MIN_AGREEMENT
    if agreement < needed:
        raise ExportError(
            f"the {_name(fmt, quantize)} export agrees with the model on only {agreement:.1%} of "
            f"{len(images)} images (it must on {needed:.0%}; largest probability difference "
            f"{max_diff:.3f}); nothing was written"
        )
    return ExportReport(str(written.path), fmt, agreement, max_diff, size_of(written.path), written.note)


def comparison_images(run: Any, samples: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(up to `samples` validation images, as many training images for int8 calibration, a
    note): the run's own data when it loads here, else generated images of the input's shape."""

    spec = run.preprocess
    try:
        dataset = load_dataset(run.config.data, seed=run.config.training.seed)
        validation = _first_images(dataset, "validation", samples)
        training = _first_images(dataset, "train", samples)
        if len(validation):
            return validation, training if len(training) else validation, ""
        why = "it has no validation images"
    except LayerLabError as err:
        why = str(err)
    rng = np.random.default_rng(GENERATED_SEED)
    generated = rng.uniform(0, 255, (max(1, samples), spec.height, spec.width, spec.channels)).astype(np.float32)
    return (
        generated,
        generated,
        (
            f"the run's data could not be used ({why}): compared on {len(generated)} "
            "generated images of the right shape instead"
        ),
    )


def _first_images(dataset: Any, split: str, count: int) -> np.ndarray:
    """The first `count` images of a split, as float32 pixels 0..255 (what the model takes)."""
    chunks, have = [], 0
    for images, _ in dataset.tf_dataset(split, 64):
        chunks.append(np.asarray(images, np.float32))
        have += len(chunks[-1])
        if have >= count:
            break
    return np.concatenate(chunks)[:count] if chunks else np.zeros((0,), np.float32)


def _write_companions(run: Any, fmt: str, folder: Path, quantize: str | None) -> None:
    spec = run.preprocess
    (folder / "preprocess.json").write_text(json.dumps(spec.to_dict(), indent=2), encoding="utf-8")
    (folder / "labels.txt").write_text("".join(f"{name}\n" for name in run.class_names), encoding="utf-8")
    (folder / "README.txt").write_text(usage_note(fmt, spec, quantize), encoding="utf-8")


def usage_note(fmt: str, spec: Any, quantize: str | None = None) -> str:
    """The short usage note written beside an export."""
    shape = f"{spec.height}×{spec.width}×{spec.channels}"
    how = {
        "keras": "keras.saving.load_model('model.keras', safe_mode=True)  # then model(x)",
        "savedmodel": "tf.saved_model.load('saved_model').serve(x)",
        "tflite": "ai_edge_litert.interpreter.Interpreter(model_path='model.tflite'): set_tensor, invoke, get_tensor",
        "onnx": "onnxruntime.InferenceSession('model.onnx').run(None, {input_name: x})[0]",
    }[fmt]
    shrink = {"bilinear": "bilinear", "lanczos": "Lanczos"}[spec.resample]
    steps = [
        f"resize the image ({shrink} when shrinking) to fit the square, keeping its aspect, and pad it with "
        "its border colour"
        if spec.pad_to_square
        else f"resize the image ({shrink} when shrinking)"
    ]
    if spec.polarity == "light_on_dark":
        steps.append(
            "light strokes on a dark background (invert dark-on-light drawings); crop to the strokes "
            "and centre them as preprocess.json describes"
        )
    quantized = f" ({quantize} quantized)" if quantize else ""
    return (
        f"LayerLab export: {MODEL_NAMES[fmt]}{quantized}\n\n"
        f"Input: float32 pixels 0..255, shape (N, {spec.height}, {spec.width}, {spec.channels}) ({shape}, "
        f"{'greyscale' if spec.channels == 1 else 'RGB'}); the model scales them itself.\n"
        f"Before that: {'; '.join(steps)}.\n"
        "Output: one probability per class, in the order of labels.txt (softmax).\n"
        f"Load and run: {how}\n"
        "preprocess.json is LayerLab's preprocessing spec for this model (engine.inference.classifier.PreprocessSpec).\n"
    )


def _name(fmt: str, quantize: str | None) -> str:
    return f"{fmt} ({quantize})" if quantize else fmt


def _check_cancel(cancel: Any) -> None:
    if cancel is not None and cancel.cancelled:
        raise Cancelled("the export was stopped")


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]
