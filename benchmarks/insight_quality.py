"""Insight: planted label errors found, unfamiliar images flagged, on real scans.

scikit-learn's digits are real scans (1 797 images, 8×8).

1. **Label errors**: N labels flipped on purpose, then `find_label_issues` (k-fold
   cross-validation of the MLP, then cleanlab's confident learning); the share of the flips among
   the N and the 2N most suspicious samples, and how many samples it flagged in all.
2. **Out-of-distribution**: the model (`mlp`, `bn_cnn`) trained on 80 % of the digits, its
   threshold at the 99th (the default) or the 95th percentile of its validation images'
   Mahalanobis scores; the share of each kind of image called *unfamiliar*. "digits (test split)"
   were never seen nor used for the threshold; "photographed digits" are those digits as dark ink
   on a larger light sheet, off-centre; "photo crops" are random crops of the two photographs
   scikit-learn ships (a temple, a flower); "generated shapes" are LayerLab's colour shapes.

    python -m benchmarks.insight_quality [--seeds 3] [--archs mlp,bn_cnn] [--count 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.results import Results, add_arguments, settings_of

TITLE = "Insight: label errors found, unfamiliar images flagged"


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.round(bunch.images * 255 / 16).astype(np.uint8), bunch.target.astype(np.int64)


def label_flips(flips: int, seed: int, folder: Path, folds: int, epochs: int) -> tuple[int, int, int, float]:
    """(flips in the top `flips`, in the top 2×`flips`, flagged in all, seconds)."""
    from engine.config import ExperimentConfig
    from engine.datasets import load_dataset
    from engine.insight.label_issues import find_label_issues

    x, y = digits()
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), flips, replace=False)
    y = y.copy()
    y[flipped] = (y[flipped] + rng.integers(1, 10, flips)) % 10
    path = folder / f"noisy-{flips}-{seed}.npz"
    np.savez(path, x=x, y=y)
    marked = {x[i].tobytes() for i in flipped}
    config = ExperimentConfig().updated(
        **{"data.name": f"npz:{path}", "training.batch_size": 32, "training.seed": seed}
    )
    started = time.perf_counter()
    issues = find_label_issues(config, folds=folds, epochs=epochs)
    seconds = time.perf_counter() - started
    dataset = load_dataset(config.data, seed=seed)
    hits = [dataset.split(i.split)[0][i.index].tobytes() in marked for i in issues]
    return sum(hits[:flips]), sum(hits[: 2 * flips]), len(issues), seconds


def ood_sets(folder: Path, count: int, test_digits: np.ndarray) -> dict[str, list[Path]]:
    """Files of each kind of image, written once."""
    from sklearn.datasets import load_sample_images

    from engine.datasets.builtin import generate_shapes
    from tests.engine.test_inference import paper_copy

    rng = np.random.default_rng(0)
    sets: dict[str, list[Path]] = {
        "digits (test split)": [],
        "photographed digits": [],
        "photo crops": [],
        "generated shapes": [],
        "uniform noise": [],
    }
    for i, digit in enumerate(test_digits[:count]):
        path = folder / f"digit{i}.png"
        Image.fromarray(digit, "L").save(path)
        sets["digits (test split)"].append(path)
        sets["photographed digits"].append(paper_copy(digit[..., None], folder / f"paper{i}.png"))
    photos = load_sample_images().images
    shapes, _ = generate_shapes(count // 5 + 1, 64, seed=3)
    for i in range(count):
        photo = photos[i % 2]
        side = int(rng.integers(100, 420))
        y0, x0 = int(rng.integers(0, photo.shape[0] - side)), int(rng.integers(0, photo.shape[1] - side))
        sets["photo crops"].append(_save(photo[y0 : y0 + side, x0 : x0 + side], folder / f"photo{i}.png"))
        sets["generated shapes"].append(_save(shapes[i], folder / f"shape{i}.png"))
        sets["uniform noise"].append(_save(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), folder / f"noise{i}.png"))
    return sets


def _save(array: np.ndarray, path: Path) -> Path:
    Image.fromarray(array).save(path)
    return path


def ood_figures(arch: str, folder: Path, count: int, epochs: int) -> tuple[float, dict[str, tuple[float, float]]]:
    """(test accuracy, {set: (share unfamiliar at p99, at p95)})."""
    from engine.config import ExperimentConfig
    from engine.datasets import load_dataset
    from engine.datasets.base import stratified_indices
    from engine.images.prepare import prepare
    from engine.inference.classifier import Classifier
    from engine.inference.ood import fit_ood
    from engine.training.trainer import train

    x, y = digits()
    train_index, test_index = stratified_indices(y, 0.2, seed=0)
    path = folder / "digits-with-test.npz"
    np.savez(path, x_train=x[train_index], y_train=y[train_index], x_test=x[test_index], y_test=y[test_index])
    config = ExperimentConfig().updated(
        **{"data.name": f"npz:{path}", "arch.name": arch, "training.epochs": epochs, "training.batch_size": 32}
    )
    if arch == "bn_cnn":
        config = config.updated(**{"arch.batchnorm": True})
    train(config, run_dir=folder / f"run-{arch}")
    classifier = Classifier.from_run(folder / f"run-{arch}")
    dataset = load_dataset(config.data, seed=0)
    stricter = fit_ood(classifier.model, dataset, percentile=95.0)
    accuracy = float(
        (classifier.probabilities(dataset.x_test.astype(np.float32)).argmax(axis=1) == dataset.y_test).mean()
    )
    shares = {}
    for name, files in ood_sets(folder, count, dataset.x_test[..., 0]).items():
        features = classifier.features(np.stack([prepare(f, classifier.spec).array for f in files]))
        shares[name] = (
            float((~classifier.ood.familiar(features)).mean()),
            float((~stricter.familiar(features)).mean()),
        )
    return accuracy, shares


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the smaller number of flips")
    parser.add_argument(
        "--flips", type=int, nargs="*", default=[30, 90], help="labels flipped (the first: every seed); none: skip"
    )
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--flip-epochs", type=int, default=10, help="epochs per cross-validation fold")
    parser.add_argument("--archs", default="mlp,bn_cnn", help="models of the out-of-distribution part ('': skip it)")
    parser.add_argument("--ood-epochs", type=int, default=20)
    parser.add_argument("--count", type=int, default=100, help="images per out-of-distribution set")
    args = add_arguments(parser).parse_args(argv)
    if args.smoke:
        args.seeds, args.flips, args.folds, args.flip_epochs, args.ood_epochs, args.count = 1, [10], 2, 1, 1, 3
    os.environ.setdefault("LAYERLAB_HOME", tempfile.mkdtemp(prefix="layerlab-bench-"))
    results = Results("insight_quality", TITLE, smoke=args.smoke, settings=settings_of(args))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for n, flips in enumerate(args.flips):
            for seed in range(args.seeds if n == 0 else 1):
                top, top2, flagged, seconds = label_flips(flips, seed, folder, args.folds, args.flip_epochs)
                results.figure(
                    f"{flips} flips, seed {seed}: share in the top N",
                    top / flips,
                    f"{flips} flips, seed {seed}: {top}/{flips} in the top N, {top2}/{flips} in the top 2N, "
                    f"{flagged} flagged, {seconds:.0f} s",
                )
                results.figure(f"{flips} flips, seed {seed}: share in the top 2N", top2 / flips)
                rows.append(
                    [
                        flips,
                        seed,
                        f"{top}/{flips} ({top / flips:.0%})",
                        f"{top2}/{flips} ({top2 / flips:.0%})",
                        flagged,
                        seconds,
                    ]
                )
        if rows:
            results.table(
                "planted label flips among the most suspicious samples",
                ["planted flips", "seed", "in the top N", "in the top 2N", "flagged", "seconds"],
                rows,
                show=True,
            )
        for arch in filter(None, args.archs.split(",")):
            accuracy, shares = ood_figures(arch, folder, args.count, args.ood_epochs)
            results.figure(f"{arch}: test accuracy", accuracy, f"{arch}: test accuracy {accuracy:.3f}")
            for name, (p99, p95) in shares.items():
                results.figure(f"{arch}: {name} unfamiliar (p99)", p99)
                results.figure(f"{arch}: {name} unfamiliar (p95)", p95)
            results.table(
                f"{arch} (test accuracy {accuracy:.3f}): share called unfamiliar, {args.count} images per set",
                ["images", "unfamiliar (p99 threshold)", "unfamiliar (p95 threshold)"],
                [[name, f"{p99:.0%}", f"{p95:.0%}"] for name, (p99, p95) in shares.items()],
                show=True,
            )
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
