"""Frozen-feature cache: speed-up and accuracy against end-to-end training, side by side.

The same training twice on the same data: with the cache (the frozen part of the network runs once
over the data, then only the head trains) and end to end (the frozen part runs on every batch of
every epoch), timed from the `Started` event (before any extraction) to the end of the last epoch,
so the extraction is counted; a fresh in-memory cache for every run. Two frozen parts: an
ImageNet-style base (VGG16, random weights since none can be downloaded here: the cost is the same
with ImageNet's) under a new head, and a `cifar_cnn` trained on the data first (`init_from`), then
frozen but for its last two layers (the classic "precomputed features" lesson, where accuracy
means something). Goal: speed-up ≥ 0.7·N for N epochs; accuracy within 0.3 points.

    python -m benchmarks.feature_cache [--epochs 5] [--image-size 64] [--limit 600]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import Results, add_arguments, settings_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TITLE = "Frozen-feature cache"
CASES = ("imagenet", "pretrained")

DISCUSSION = """Extraction runs in batches of 256 (inference only), training in the configured batches.
The goal is met where the frozen part is the expensive part of the network (an ImageNet base: the
classic use). With a small CNN at 32 px the frozen convolutions cost about as much as Keras's
per-step overhead, so the cache can only save that share; extraction and the first epoch's graph
tracing are paid once, so the ratio grows with more epochs. Accuracy is identical: the cached head
sees the very numbers the frozen layers would compute, in the same shuffled order. (With a random
VGG16 base the features are weak and both heads stay near chance: that case measures time only.)"""


def timed_train(config, dataset, run_dir: Path):
    """Seconds from `Started` (before any feature extraction) to the end of the last epoch."""
    from engine.caches.features import FeatureCache
    from engine.core.events import EpochEnd, Started
    from engine.training.trainer import train

    marks: dict[str, float] = {}

    def observer(event) -> None:
        if isinstance(event, Started):
            marks["start"] = time.perf_counter()
        elif isinstance(event, EpochEnd):
            marks["end"] = time.perf_counter()

    # A new cache without a folder for every run: the extraction is counted every time.
    result = train(config, observer, dataset=dataset, run_dir=run_dir, feature_cache=FeatureCache(disk_dir=None))
    assert result.failed is None, result.failed
    return marks["end"] - marks["start"], result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vgg16_imagenet")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=600, help="training images of the ImageNet-style case")
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--pretrain-epochs", type=int, default=8, help="the cifar_cnn's training before freezing")
    parser.add_argument("--pretrain-limit", type=int, help="training images of the cifar_cnn case (default: all)")
    parser.add_argument(
        "--case", choices=CASES, action="append", help="run only these (default: both; parts merge afterwards)"
    )
    args = add_arguments(parser).parse_args(argv)
    if args.smoke:
        args.epochs, args.image_size, args.limit, args.pretrain_epochs, args.pretrain_limit = 2, 32, 64, 1, 64

    from engine.runtime.devices import device_name

    results = Results("feature_cache", TITLE, smoke=args.smoke, settings=settings_of(args))
    results.settings["device"] = device_name()
    rows = []
    cases = args.case or CASES
    with tempfile.TemporaryDirectory() as tmp:
        if "imagenet" in cases:
            rows.append(imagenet_case(args, Path(tmp) / "a", results))
        if "pretrained" in cases:
            rows.append(pretrained_case(args, Path(tmp), results))
    results.table(
        "cached against end to end",
        [
            "frozen part; data",
            "training images",
            "epochs",
            "cached (s)",
            "end to end (s)",
            "speed-up",
            "goal",
            "val acc cached",
            "val acc end to end",
        ],
        rows,
        show=True,
    )
    results.write(args.json)
    return 0


def imagenet_case(args: argparse.Namespace, folder: Path, results: Results) -> list:
    """A frozen ImageNet-style backbone (random init: speed only, its features are weak)."""
    from engine.config import ExperimentConfig

    config = ExperimentConfig().updated(
        **{
            "data.name": args.dataset,
            "data.image_size": args.image_size,
            "data.limit": args.limit,
            "arch.name": args.arch,
            "arch.weights": "none",
            # The base frozen layer by layer (all but the head's two dense layers): the preset's own
            # "freeze the base" refuses random weights, rightly for a user; here only the time counts.
            "arch.freeze_base": False,
            "freeze_all_but": 2,
            "arch.dropout": False,
            "arch.head_units": 128,
            "training.epochs": args.epochs,
            "training.batch_size": 32,
        }
    )
    label = f"{args.arch} base (random init), GAP head; {args.dataset} {args.image_size} px"
    return compare(label, config, folder, results)


def pretrained_case(args: argparse.Namespace, folder: Path, results: Results) -> list:
    """A CNN trained earlier on the data, then frozen but for its last two layers: the classic
    "precomputed features" lesson, where accuracy is meaningful."""
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    pre = ExperimentConfig().updated(
        **{
            "data.name": args.dataset,
            "data.limit": args.pretrain_limit,
            "arch.name": "cifar_cnn",
            "arch.dropout": False,
            "training.epochs": args.pretrain_epochs,
            "training.batch_size": 32,
        }
    )
    pretrained = train(pre, run_dir=folder / "pretrained")
    assert pretrained.failed is None, pretrained.failed
    head = pre.updated(**{"freeze_all_but": 2, "init_from": str(folder / "pretrained"), "training.epochs": args.epochs})
    label = f"cifar_cnn trained on the data, frozen but the last 2 layers; {args.dataset} 32 px"
    return compare(label, head, folder / "b", results)


def compare(label: str, config, folder: Path, results: Results) -> list:
    """One row: the same training cached and end to end (after a 1-epoch warm-up but in smoke mode)."""
    from engine.datasets import load_dataset

    dataset = load_dataset(config.data, seed=0)
    if not results.smoke:  # warm-up: first-use costs paid by neither side
        timed_train(config.updated(**{"training.epochs": 1}), dataset, folder / "warm")
    cached_s, cached = timed_train(config, dataset, folder / "cached")
    plain_s, plain = timed_train(config.updated(**{"training.feature_cache": False}), dataset, folder / "plain")
    assert cached.feature_cache_used and not plain.feature_cache_used
    epochs = config.training.epochs
    speedup, goal = plain_s / cached_s, 0.7 * epochs
    diff = 100 * (cached.metrics.val_accuracy - plain.metrics.val_accuracy)
    results.figure(
        f"{label}: speed-up",
        speedup,
        f"{label}: {epochs} epochs, {len(dataset.x_train)} images: cached {cached_s:.1f}s vs end-to-end "
        f"{plain_s:.1f}s → speed-up {speedup:.2f}× (goal ≥ {goal:.1f}×); val acc "
        f"{cached.metrics.val_accuracy:.4f} vs {plain.metrics.val_accuracy:.4f} ({diff:+.2f} points)",
    )
    results.figure(f"{label}: accuracy difference (points)", diff)
    results.note(
        f"{label}: speed-up {speedup:.2f}× (goal ≥ {goal:.1f}×: {'met' if speedup >= goal else 'missed'}); "
        f"accuracy {diff:+.2f} points (goal within 0.3: {'met' if abs(diff) <= 0.3 else 'missed'})."
    )
    return [
        label,
        len(dataset.x_train),
        epochs,
        cached_s,
        plain_s,
        f"{speedup:.2f}×",
        f"{goal:.1f}× {'✓' if speedup >= goal else '✗'}",
        cached.metrics.val_accuracy,
        plain.metrics.val_accuracy,
    ]


if __name__ == "__main__":
    raise SystemExit(main())
