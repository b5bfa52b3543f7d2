"""Frozen-feature cache: speed-up and accuracy against end-to-end training, side by side.

A frozen ImageNet-style base (VGG16 by default, random init so it runs offline; the cost is the
same with ImageNet weights, and random convolutional features are still informative) + a new head, trained for N epochs on the same data twice: once with
the cache (extract the base's features once, then train the head only) and once end to end
(the frozen base runs on every batch of every epoch). Speed-up = end-to-end time / cached time,
measured from the `Started` event to the last epoch's end, extraction included; goal ≥ 0.7·N. Accuracy difference goal: within 0.3 points.

    python -m benchmarks.feature_cache [--epochs 5] [--image-size 96] [--limit 600]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="vgg16_imagenet")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=600)
    parser.add_argument("--dataset", default="shapes")
    args = parser.parse_args(argv)

    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        # 1. A frozen ImageNet-style backbone (random init: speed only, its features are weak).
        config = ExperimentConfig().updated(
            **{
                "data.name": args.dataset,
                "data.image_size": args.image_size,
                "data.limit": args.limit,
                "arch.name": args.arch,
                "arch.weights": "none",
                "arch.dropout": False,
                "arch.head_units": 128,
                "training.epochs": args.epochs,
                "training.batch_size": 32,
            }
        )
        results.append(compare(f"{args.arch} (random init) frozen base, {args.image_size}px", config, Path(tmp) / "a"))
        # 2. A CNN trained earlier on the data, then frozen but for its last two layers: the
        #    classic "precomputed features" lesson, where accuracy is meaningful.
        pre = ExperimentConfig().updated(
            **{
                "data.name": args.dataset,
                "arch.name": "cifar_cnn",
                "arch.dropout": False,
                "training.epochs": 8,
                "training.batch_size": 32,
            }
        )
        pretrained = train(pre, run_dir=Path(tmp) / "pretrained")
        assert pretrained.failed is None, pretrained.failed
        head = pre.updated(
            **{"freeze_all_but": 2, "init_from": str(Path(tmp) / "pretrained"), "training.epochs": args.epochs}
        )
        results.append(
            compare("cifar_cnn pretrained on the data, frozen but the last 2 layers, 32px", head, Path(tmp) / "b")
        )
    return results


def compare(label: str, config, folder: Path) -> dict:
    from engine.datasets import load_dataset
    from engine.runtime.devices import device_name

    dataset = load_dataset(config.data, seed=0)
    timed_train(config.updated(**{"training.epochs": 1}), dataset, folder / "warm")
    cached_s, cached = timed_train(config, dataset, folder / "cached")
    plain_s, plain = timed_train(config.updated(**{"training.feature_cache": False}), dataset, folder / "plain")
    assert cached.feature_cache_used and not plain.feature_cache_used
    epochs = config.training.epochs
    speedup = plain_s / cached_s
    diff = 100 * (cached.metrics.val_accuracy - plain.metrics.val_accuracy)
    print(
        f"{label}: {epochs} epochs, {len(dataset.x_train)} images on {device_name()}: cached {cached_s:.1f}s vs "
        f"end-to-end {plain_s:.1f}s → speed-up {speedup:.2f}× (goal ≥ {0.7 * epochs:.1f}×); val acc "
        f"{cached.metrics.val_accuracy:.4f} vs {plain.metrics.val_accuracy:.4f} ({diff:+.2f} points)",
        flush=True,
    )
    return {
        "label": label,
        "epochs": epochs,
        "cached_s": cached_s,
        "end_to_end_s": plain_s,
        "speedup": speedup,
        "val_acc_cached": cached.metrics.val_accuracy,
        "val_acc_end_to_end": plain.metrics.val_accuracy,
        "accuracy_diff_points": diff,
    }


if __name__ == "__main__":
    main()
