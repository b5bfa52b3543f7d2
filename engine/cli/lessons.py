"""`layerlab-cli lessons` and `layerlab-cli lesson NAME`: the classic lessons.

`lessons [--json]` lists them with what each needs and whether it is on disk (no TensorFlow).
`lesson NAME [--epochs N] [--json]` runs one: the recipe is checked and its data loaded before
TensorFlow starts, progress goes to stderr (per epoch; per run for a comparison), and stdout
gets the measured figure beside the published one (or one JSON object, `LessonResult.to_json`).
Offline without the lesson's data it stops with the loader's message (what to download, where)
and names `--fallback`, which runs it on the embedded digits or generated shapes instead.
SIGINT/SIGTERM stop it like `train` (the run so far is saved; exit 128 + the signal's number).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine import (
    CancelToken,
    ConfigError,
    LessonResult,
    coerce_value,
    get_lesson,
    lesson_available,
    list_lessons,
    offers_fast_recipe,
    prepare_lesson,
    run_lesson,
)
from engine.cli.common import EXIT_FAILED, EXIT_OK, StopOnSignals, err, out, printable, start_tensorflow
from engine.cli.progress import GridProgress


def add_commands(sub: Any) -> None:
    listing = sub.add_parser("lessons", help="the classic lessons: what each sets up and needs")
    listing.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    listing.set_defaults(handler=cmd_lessons)

    lesson = sub.add_parser("lesson", help="run a classic lesson (see `layerlab-cli lessons`)")
    lesson.add_argument("name", help="the lesson, e.g. mlp_mnist")
    lesson.add_argument("--epochs", type=int, metavar="N", help="epochs of each run (each stage's, for fine-tuning)")
    lesson.add_argument(
        "--fallback",
        action="store_true",
        help="run on the embedded digits or generated shapes (the published figure then does not apply)",
    )
    lesson.add_argument("--dataset", metavar="NAME", help="the lesson's data, e.g. folder:PATH for the photo lessons")
    lesson.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help="change one setting of the recipe, e.g. data.limit=500 (keys as for grid --vary; repeatable)",
    )
    lesson.add_argument(
        "--backbone",
        metavar="NAME",
        help="imagenet_models: vgg16_imagenet, resnet50, mobilenet_v2 (default), inception_v3 or efficientnet_b0",
    )
    lesson.add_argument(
        "--image",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        dest="images",
        help="imagenet_models: a photo to classify (repeatable; default: scikit-learn's two sample photos)",
    )
    lesson.add_argument(
        "--imagenet-weights",
        action="store_true",
        help="vgg16_scratch: start from VGG16's published ImageNet weights (copied by layer name)",
    )
    lesson.add_argument(
        "--recipe",
        choices=("textbook", "fast"),
        default="textbook",
        help="fast: run it fast (the fast recipe: fewer epochs, a schedule moving every batch...; the published "
        "figure is the textbook's)",
    )
    lesson.add_argument(
        "--grid-dir", type=Path, metavar="DIR", help="comparisons: the grid's folder (an existing one resumes)"
    )
    lesson.add_argument("--json", action="store_true", help="print one JSON object with the result on stdout")
    lesson.set_defaults(handler=cmd_lesson)


def cmd_lessons(args: argparse.Namespace) -> int:
    entries = []
    for lesson in list_lessons():
        available, missing = lesson_available(lesson)
        entries.append(
            {
                "name": lesson.name,
                "title": lesson.title,
                "kind": lesson.kind,
                "note": lesson.note,
                "published": lesson.published,
                "dataset_needed": lesson.dataset_needed,
                "fallback": lesson.fallback,
                "available": available,
                "missing": missing or None,
                "fast_recipe": offers_fast_recipe(lesson),
            }
        )
    if args.json:
        out(json.dumps(entries))
        return EXIT_OK
    for e in entries:
        state = (
            "ready"
            if e["available"]
            else f"needs {e['dataset_needed']}" + (f" (or --fallback: {e['fallback']})" if e["fallback"] else "")
        )
        out(f"{e['name']:27} {e['title']}")
        out(f"{'':27} published: {e['published']}")
        out(f"{'':27} {state}")
    return EXIT_OK


def _settings(texts: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {text!r}: write KEY=VALUE, e.g. data.limit=500")
        settings[key.strip()] = coerce_value(key.strip(), value.strip())
    return settings


def cmd_lesson(args: argparse.Namespace) -> int:
    lesson = get_lesson(args.name)
    if args.dataset:
        lesson = lesson.with_data(args.dataset)
    settings = _settings(args.settings)
    if args.backbone:
        if lesson.kind != "imagenet":
            raise ConfigError("--backbone is for the imagenet_models lesson")
        settings["arch.name"] = args.backbone
    if args.images and lesson.kind != "imagenet":
        raise ConfigError("--image is for the imagenet_models lesson")
    options = {"epochs": args.epochs, "use_fallback": args.fallback, "settings": settings, "recipe": args.recipe}
    prepare_lesson(lesson, **options)  # a bad option or missing photos: refused before TensorFlow starts
    start_tensorflow()
    err(f"lesson {lesson.name}: {lesson.title}")
    cancel = CancelToken()
    progress = GridProgress(repeats=1)  # a run's epochs; a comparison's runs one by one
    with StopOnSignals(cancel) as stop:
        result = run_lesson(
            lesson,
            **options,
            observer=progress,
            cancel=cancel,
            images=args.images or None,
            imagenet_weights=args.imagenet_weights,
            grid_dir=args.grid_dir,
        )
    if args.json:
        out(json.dumps(result.to_json()))
    else:
        _print_result(result)
    if stop.received is not None:
        err(f"layerlab-cli: lesson stopped by {stop.signal_name()}; what finished is saved")
        return stop.exit_code()
    if result.failed:
        err(f"layerlab-cli: lesson failed: {result.failed}")
        return EXIT_FAILED
    return EXIT_OK


def _print_result(result: LessonResult) -> None:
    lesson = result.lesson
    out(f"{lesson.title}")
    out(f"  measured:  {result.figure}")
    out(f"  published: {lesson.published}" + ("  (does not apply: fallback data)" if result.fallback_used else ""))
    if result.note:
        out(f"  note: {result.note}")
    for prediction in result.predictions:
        if "error" in prediction:
            out(f"  {printable(prediction['source'])}: error: {prediction['error']}")
            continue
        tops = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in prediction["top"])
        out(f"  {printable(prediction['source'])}: {tops}")
    if result.grid_dir:
        out(f"  grid folder: {printable(result.grid_dir)}")
    for run_dir in dict.fromkeys(result.run_dirs):
        out(f"  run: {printable(run_dir)}")
