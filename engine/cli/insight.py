"""`layerlab-cli classify`, `report`, `explain` and `label-issues`: what a trained model says, and why.

A run folder and its model archive are checked before TensorFlow starts; an image that cannot be
used is one error entry among the results, and the command fails only when none could be.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine import (
    Cancelled,
    CancelToken,
    Classifier,
    LayerLabError,
    explain_images,
    find_label_issues,
    load_dataset,
    report_text,
    resolve_run,
    run_report,
)
from engine.cli.common import EXIT_FAILED, EXIT_OK, StopOnSignals, err, one_line, out, printable, start_tensorflow
from engine.cli.options import add_model_options, config_from_args, option, probability


def add_commands(sub: Any) -> None:
    classify = sub.add_parser("classify", help="classify images with a trained run")
    classify.add_argument("model", type=Path, help="run folder or its model.keras")
    classify.add_argument("images", type=Path, nargs="+")
    classify.add_argument("--top", type=int, default=3)
    classify.add_argument(
        "--threshold",
        type=probability,
        metavar="P",
        help='answers whose top probability is below P are reported as "not sure"',
    )
    classify.add_argument("--json", action="store_true")
    classify.set_defaults(handler=cmd_classify)

    report = sub.add_parser("report", help="per-class precision, recall and F1 of a run, and its most confused pairs")
    report.add_argument("run", type=Path, help="run folder")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=cmd_report)
    explain = sub.add_parser("explain", help="write a Grad-CAM (or saliency) overlay per image")
    explain.add_argument("model", type=Path, help="run folder or its model.keras")
    explain.add_argument("images", type=Path, nargs="+")
    explain.add_argument("--out", type=Path, required=True, help="folder for the overlay PNGs")
    explain.add_argument("--layer", help="the layer Grad-CAM reads (default: the last convolutional one)")
    explain.add_argument("--json", action="store_true")
    explain.set_defaults(handler=cmd_explain)
    issues = sub.add_parser("label-issues", help="rank samples by how likely their label is wrong (confident learning)")
    add_model_options(issues)
    t = issues.add_argument_group("cross-validation")
    option(t, "--epochs", "training.epochs", "epochs per fold", type=int)
    option(t, "--batch-size", "training.batch_size", "samples per batch", type=int)
    option(t, "--lr", "training.learning_rate", "learning rate", type=float)
    option(t, "--seed", "training.seed", "seed of the split and the folds", type=int)
    issues.add_argument("--folds", type=int, default=4, help="cross-validation folds (default: 4)")
    issues.add_argument("--top", type=int, default=30, help="how many to print without --json (default: 30)")
    issues.add_argument("--json", action="store_true", help="print every issue as one JSON list")
    issues.set_defaults(handler=cmd_label_issues)


def cmd_classify(args: argparse.Namespace) -> int:
    resolve_run(args.model)  # the run's files and model archive, checked before TensorFlow starts
    start_tensorflow()
    classifier = Classifier.from_run(args.model)
    results: list[dict[str, Any]] = []
    for path in args.images:
        try:
            prediction = classifier.classify(path, top_k=args.top, threshold=args.threshold)
            results.append(
                {
                    "path": str(path),
                    "top": [{"label": label, "probability": p} for label, p in prediction.top],
                    "familiar": prediction.familiar,
                    "ood_score": prediction.ood_score,
                    "ood_parts": prediction.ood_parts,
                    "verdict": prediction.verdict,
                }
            )
        except LayerLabError as error:
            results.append({"path": str(path), "error": one_line(str(error))})
    if args.json:
        out(json.dumps(results))
    else:
        for entry in results:
            if "error" in entry:
                out(f"{printable(entry['path'])}: error: {entry['error']}")
            else:
                tops = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in entry["top"])
                said = "" if entry["verdict"] == entry["top"][0]["label"] else f"{entry['verdict']} ("
                out(f"{printable(entry['path'])}: {said}{tops}{')' if said else ''}")
    failures = sum("error" in entry for entry in results)
    if failures:
        err(f"layerlab-cli: {failures} of {len(results)} images could not be classified")
    return EXIT_FAILED if failures == len(results) else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    report = run_report(args.run)
    out(json.dumps(report) if args.json else report_text(report))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    resolve_run(args.model)  # checked before TensorFlow starts
    start_tensorflow()
    results = explain_images(args.model, args.images, args.out, layer=args.layer)
    if args.json:
        out(json.dumps(results))
    else:
        for entry in results:
            if "error" in entry:
                out(f"{printable(entry['path'])}: error: {entry['error']}")
            else:
                out(
                    f"{printable(entry['path'])}: {entry['label']} {entry['probability']:.1%}, evidence peaks at "
                    f"y {entry['peak'][0]:.2f} x {entry['peak'][1]:.2f} → {printable(entry['overlay'])}"
                )
    failures = sum("error" in entry for entry in results)
    if failures:
        err(f"layerlab-cli: {failures} of {len(results)} images could not be explained")
    return EXIT_FAILED if failures == len(results) else EXIT_OK


def cmd_label_issues(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    dataset = load_dataset(config.data, seed=config.training.seed)  # before TensorFlow: bad data fails fast
    start_tensorflow()

    def progress(event: Any) -> None:
        err(f"fold {event.fold}/{event.folds} done ({event.seconds:.1f}s)")

    err(f"cross-validating {config.arch.name} on {dataset.name}: {args.folds} folds of {config.training.epochs} epochs")
    cancel = CancelToken()
    with StopOnSignals(cancel):
        try:
            issues = find_label_issues(config, folds=args.folds, cancel=cancel, observer=progress, dataset=dataset)
        except Cancelled:
            err("layerlab-cli: stopped; no label issues were ranked")
            return 130
    if args.json:
        out(json.dumps([asdict(issue) for issue in issues]))
        return EXIT_OK
    out(f"{len(issues)} likely label errors, most likely first")
    for issue in issues[: max(0, args.top)]:
        where = printable(issue.name)  # its file, "x_train[1234]" of array data, else "train[12]"
        out(f"{issue.score:.3f}  {where}: labelled {issue.given!r}, looks like {issue.suggested!r}")
    if len(issues) > args.top:
        out(f"... and {len(issues) - args.top} more (--top N, or --json for all)")
    return EXIT_OK
