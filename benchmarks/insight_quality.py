"""How well the insight tools work on real images (the insight section of docs/benchmarks.md).

1. Label errors: scikit-learn's digits (1 797 real scans) with N labels flipped on purpose; the
   share of the flips among the top-ranked suspects (top N and top 2N), by
   `find_label_issues` (4-fold cross-validation of the MLP, then cleanlab).
2. Out-of-distribution: an MLP (and bn_cnn) trained on the digits; the share of images called
   unfamiliar among held-out digits (the test split, never used for the threshold), the same
   digits photographed (dark ink on a light, larger sheet, off-centre), and images that are none
   of the digits: crops of the two real photographs scikit-learn ships, LayerLab's generated
   colour shapes, and uniform noise. With the line drawn for 1 % and (the default) 5 % false
   alarms on the validation images (benchmarks/ood_real.py measures more kinds of image).

    python -m benchmarks.insight_quality [--seeds 3] [--archs mlp,bn_cnn]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.round(bunch.images * 255 / 16).astype(np.uint8), bunch.target.astype(np.int64)


def label_flips(flips: int, seed: int, folder: Path) -> tuple[int, int, int, float]:
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
    issues = find_label_issues(config, folds=4, epochs=10)
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


def ood_figures(arch: str, folder: Path, count: int) -> tuple[float, dict[str, tuple[float, float]]]:
    """(test accuracy, {set: (share unfamiliar at a 1 % line, at the default 5 % line)})."""
    from engine.config import ExperimentConfig
    from engine.datasets import load_dataset
    from engine.datasets.base import stratified_indices
    from engine.inference.classifier import Classifier
    from engine.inference.ood import fit_ood
    from engine.training.trainer import train

    x, y = digits()
    train_index, test_index = stratified_indices(y, 0.2, seed=0)
    path = folder / "digits-with-test.npz"
    np.savez(path, x_train=x[train_index], y_train=y[train_index], x_test=x[test_index], y_test=y[test_index])
    config = ExperimentConfig().updated(
        **{"data.name": f"npz:{path}", "arch.name": arch, "training.epochs": 20, "training.batch_size": 32}
    )
    if arch == "bn_cnn":
        config = config.updated(**{"arch.batchnorm": True})
    train(config, run_dir=folder / f"run-{arch}")
    classifier = Classifier.from_run(folder / f"run-{arch}")
    dataset = load_dataset(config.data, seed=0)
    default = classifier.ood
    stricter = fit_ood(classifier.model, dataset, classifier.spec, false_alarm=0.01)
    accuracy = float(
        (classifier.probabilities(dataset.x_test.astype(np.float32)).argmax(axis=1) == dataset.y_test).mean()
    )
    shares = {}
    for name, files in ood_sets(folder, count, dataset.x_test[..., 0]).items():
        classifier.ood = default
        at_default = float((classifier.unfamiliarity(files)[0] > 1.0).mean())
        classifier.ood = stricter
        shares[name] = (float((classifier.unfamiliarity(files)[0] > 1.0).mean()), at_default)
    classifier.ood = default
    return accuracy, shares


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--archs", default="mlp,bn_cnn")
    parser.add_argument("--count", type=int, default=100, help="images per out-of-distribution set")
    args = parser.parse_args(argv)
    os.environ.setdefault("LAYERLAB_HOME", tempfile.mkdtemp(prefix="layerlab-bench-"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("| planted flips | seed | in the top N | in the top 2N | flagged | seconds |")
        print("|---|---|---|---|---|---|")
        for flips in (30, 90):
            for seed in range(args.seeds if flips == 30 else 1):
                top, top2, flagged, seconds = label_flips(flips, seed, folder)
                print(
                    f"| {flips} | {seed} | {top}/{flips} ({top / flips:.0%}) | {top2}/{flips} ({top2 / flips:.0%}) "
                    f"| {flagged} | {seconds:.0f} |",
                    flush=True,
                )
        for arch in args.archs.split(","):
            accuracy, shares = ood_figures(arch, folder, args.count)
            print(f"\n{arch}: test accuracy {accuracy:.3f}; share called unfamiliar (line at 1 % / 5 % false alarms)")
            print("| images | unfamiliar (1 %) | unfamiliar (5 %, default) |")
            print("|---|---|---|")
            for name, (strict, default) in shares.items():
                print(f"| {name} | {strict:.0%} | {default:.0%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
