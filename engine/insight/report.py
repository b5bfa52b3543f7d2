"""What `layerlab-cli report` and `layerlab-cli explain` print and write, as plain data.

The CLI only formats; these functions are what a script would call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.core.errors import LayerLabError, RunError
from engine.core.files import printable_path
from engine.images.prepare import prepare
from engine.inference.classifier import Classifier
from engine.insight.explain import check_layer, explain, overlay
from engine.runs.folders import load_run
from engine.training.metrics import per_class_from_confusion, top_confusions

TOP_CONFUSIONS = 5


def run_report(run_path: str | Path) -> dict[str, Any]:
    """The per-class tables and most confused pairs of a finished run (no TensorFlow). Runs
    saved before per-class figures existed get them from their confusion matrix."""

    run = load_run(run_path)
    metrics = run.metrics
    if metrics is None:
        raise RunError(f"{printable_path(run.path)} has no metrics.json: its training did not finish")
    if metrics.failed is not None:
        raise RunError(f"{printable_path(run.path)}: its training failed ({metrics.failed})")
    names = run.class_names or [str(i) for i in range(len(metrics.confusion_matrix))]
    per_class = metrics.per_class or per_class_from_confusion(metrics.confusion_matrix, names)
    return {
        "run": str(run.path),
        "dataset": run.config.data.name,
        "arch": run.config.arch.name,
        "val_accuracy": metrics.val_accuracy,
        "val_count": metrics.val_count,
        "per_class": [asdict(row) for row in per_class],
        "test_per_class": [asdict(row) for row in metrics.test_per_class],
        "top_confusions": [
            {"true": t, "predicted": p, "count": n}
            for t, p, n in top_confusions(metrics.confusion_matrix, names, TOP_CONFUSIONS)
        ],
        "excluded_samples": metrics.excluded_samples,
        "relabelled_samples": metrics.relabelled_samples,
    }


def report_text(report: dict[str, Any]) -> str:
    """The report as a few aligned lines of text."""
    accuracy = report["val_accuracy"]
    lines = [
        f"{printable_path(report['run'])}: {report['dataset']}, {report['arch']}, validation accuracy "
        f"{'n/a' if accuracy is None else f'{accuracy:.4f}'} ({report['val_count']} samples)"
    ]
    if report["excluded_samples"] or report["relabelled_samples"]:
        lines.append(
            f"label decisions: {report['excluded_samples']} excluded, {report['relabelled_samples']} relabelled"
        )
    for title, rows in (("validation", report["per_class"]), ("test", report["test_per_class"])):
        if not rows:
            continue
        width = max(len(title), *(len(row["name"]) for row in rows))
        lines.append(f"{title:{width}}  precision  recall      f1  support")
        lines += [
            f"{row['name']:{width}}  {row['precision']:9.3f}  {row['recall']:6.3f}  {row['f1']:6.3f}  {row['support']:7d}"
            for row in rows
        ]
    if report["top_confusions"]:
        pairs = ", ".join(f"{c['true']} → {c['predicted']} ({c['count']})" for c in report["top_confusions"])
        lines.append(f"most confused (true → predicted): {pairs}")
    return "\n".join(lines)


def explain_images(
    model_path: str | Path, images: Sequence[str | Path], out: str | Path, *, layer: str | None = None
) -> list[dict[str, Any]]:
    """One overlay PNG per image in `out`; per image `{"path", "label", "probability",
    "overlay", "peak": [y, x]}` (peak in fractions of the original image), or `{"path",
    "error"}` for an image that cannot be read. A layer the model lacks is a `ConfigError`
    before any image is read."""

    classifier = Classifier.from_run(model_path)
    check_layer(classifier.model, layer)
    folder = Path(out).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunError(f"cannot create {printable_path(folder)}: {err.strerror or err}") from None
    results: list[dict[str, Any]] = []
    taken: set[str] = set()
    for path in images:
        try:
            prepared = prepare(path, classifier.spec)
            explanation = explain(classifier, prepared, layer=layer)
            picture = overlay(np.asarray(prepared.original), explanation.heatmap, placement=explanation.placement)
            target = _unique(folder, Path(path).stem, taken)
            Image.fromarray(picture, "RGB").save(target)
        except LayerLabError as err:
            results.append({"path": str(path), "error": " ".join(str(err).split())})
            continue
        except OSError as err:
            results.append({"path": str(path), "error": f"cannot write the overlay: {err.strerror or err}"})
            continue
        results.append(
            {
                "path": str(path),
                "label": explanation.label,
                "probability": explanation.probability,
                "overlay": str(target),
                "peak": [round(v, 4) for v in explanation.peak()],
            }
        )
    return results


def _unique(folder: Path, stem: str, taken: set[str]) -> Path:
    """`<stem>.explained.png`, numbered when two images share a name."""
    name, number = f"{stem}.explained.png", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}.explained.png"
    taken.add(name)
    return folder / name
