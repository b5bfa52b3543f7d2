"""Unfamiliar images caught on real pictures: a digits model and a photo model, each handed images
of its own kind it never saw and images of other kinds, with the share called *unfamiliar* by the
out-of-distribution model of a run (`ood.npz`) and by the score runs had before (the penultimate
features' Mahalanobis distance alone, its line at the 99th percentile of the validation images).

Real images nobody made for LayerLab: scikit-learn's 1 797 handwritten digits (8×8 scans) and its
two sample photographs (a temple, a flower; scikit-image's photographs too when it is installed);
besides, LayerLab's generated colour shapes and noise.

- **digits model** (bn_cnn on 80 % of the digits; its own validation split calibrates): held out,
  the other 20 % rendered larger (64 px, bicubic), the same digits stored as 8×8 files, and
  photographed (dark ink on a larger light sheet, off-centre). Unfamiliar: the photographs whole
  and random crops of them (80 to 420 px), the generated shapes, noise.
- **photo model** (bn_cnn on 32 px crops of the photographs, four classes: each photograph's top
  and bottom half, taken from every other tile of a checkerboard): held out, crops from the other
  tiles (never a pixel trained or calibrated on). Unfamiliar: digits rendered larger (light on
  dark, as stored), drawn (dark ink on light paper), the generated shapes, noise. Two tile sizes:
  `photos` (50 px tiles: held-out crops come from between the trained ones, images of the same
  kind; the goal's row) and `photos-far` (107 px tiles: held-out crops show parts of the scene no
  training crop came near, a shift a model of two photographs cannot be expected to call familiar;
  for information).

Nothing is fitted or tuned on the images reported: the model is fitted on its training images and
its line drawn on its validation images, both disjoint from every set below.

    python -m benchmarks.ood_real [--smoke] [--json benchmarks/results/ood_real.json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.results import Results, add_arguments

DISCUSSION = """**now** is the run's `ood.npz` (statistics of the image as given + the penultimate features'
Mahalanobis distance, each calibrated on the validation split at a 5 % false-alarm rate, the
largest part over its line); **before** is the features' Mahalanobis distance alone, its line at
the 99th percentile of the validation images (the score runs had until now), fitted on the same
training images of the same model and measured on the same files. The columns "by the features
part" and "by the image part" give the share each part alone flags.

Why the photo model's held-out crops are flagged more often than its validation images: its line
is drawn on the validation split, crops of the *same* tiles the training crops came from, while
the held-out crops come from tiles no training crop touched (other petals, other stones). Both
parts see that shift, and it grows with the tile (`photos-far`). A model of two photographs is a
small world: calibrating on held-out regions (not done: they are what is reported) or training
on more photographs would bring it down. Drawn digits and noise on the photo model are caught by
the image part, which the old score had no way to see."""

GOALS = {"own kind": "≤ 5 %", "other kind": "≥ 95 %", "noise": "100 %"}
LIMITS = {"own kind": (0.0, 0.05), "other kind": (0.95, 1.0), "noise": (1.0, 1.0)}  # the share flagged: within
# The photographs are cut in tiles this big (pixels); training and held-out crops take alternate ones.
TILES = {"photos": 50, "photos-far": 107}


@dataclass
class ImageSet:
    name: str
    kind: str  # "own kind" (should pass), "other kind" (should be flagged), "noise"
    files: list[Path]
    goal: bool = True  # counted against the goals (else reported for information)


# --- the images ------------------------------------------------------------------------------------------
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.round(bunch.images * 255 / 16).astype(np.uint8), bunch.target.astype(np.int64)


def photographs() -> list[np.ndarray]:
    """scikit-learn's two sample photographs, and scikit-image's when it is installed."""
    from sklearn.datasets import load_sample_images

    photos = list(load_sample_images().images)
    try:
        from skimage import data as skimage_data
    except ImportError:
        return photos
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera"):
        image = np.asarray(getattr(skimage_data, name)())
        photos.append(np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3])
    return photos


def save(array: np.ndarray, path: Path) -> Path:
    Image.fromarray(array).save(path)
    return path


def rendered_larger(digit: np.ndarray, side: int = 64) -> np.ndarray:
    """A stored 8×8 digit drawn at `side` pixels (bicubic): light strokes on dark, as stored."""
    return np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC))


def drawn_on_paper(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit as dark ink on a larger light sheet, off-centre, with a little paper grain."""
    side = int(rng.integers(90, 160))
    ink = np.asarray(Image.fromarray(255 - digit).resize((side, side), Image.Resampling.BICUBIC), np.float32)
    sheet = np.full((int(side * 1.6), int(side * 2.3)), float(rng.integers(215, 250)), np.float32)
    top, left = int(rng.integers(0, sheet.shape[0] - side)), int(rng.integers(0, sheet.shape[1] - side))
    sheet[top : top + side, left : left + side] = np.minimum(sheet[top : top + side, left : left + side], ink)
    sheet += rng.normal(0, 3, sheet.shape)
    return np.clip(sheet, 0, 255).astype(np.uint8)


def random_crop(photo: np.ndarray, rng: np.random.Generator, low: int, high: int) -> np.ndarray:
    side = int(rng.integers(low, min(high, *photo.shape[:2]) + 1))
    y, x = int(rng.integers(0, photo.shape[0] - side + 1)), int(rng.integers(0, photo.shape[1] - side + 1))
    return photo[y : y + side, x : x + side]


def noise_sets(folder: Path, count: int, rng: np.random.Generator) -> list[ImageSet]:
    uniform = [save(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), folder / f"noise{i}.png") for i in range(count)]
    grey = [
        save(np.clip(rng.normal(128, 60, (64, 64)), 0, 255).astype(np.uint8), folder / f"grey-noise{i}.png")
        for i in range(count)
    ]
    return [ImageSet("uniform colour noise", "noise", uniform), ImageSet("Gaussian grey noise", "noise", grey)]


def shapes_set(folder: Path, count: int) -> ImageSet:
    from engine.datasets.builtin import generate_shapes

    shapes, _ = generate_shapes(count // 5 + 1, 64, seed=3)
    files = [save(shape, folder / f"shape{i}.png") for i, shape in enumerate(shapes[:count])]
    return ImageSet("generated colour shapes", "other kind", files, goal=False)


def tiles(photo: np.ndarray, parity: int, tile: int) -> list[tuple[int, int]]:
    """Top-left corners of the checkerboard tiles (`tile` pixels) of one colour (`parity` 0 or 1)."""
    rows, cols = photo.shape[0] // tile, photo.shape[1] // tile
    return [(r * tile, c * tile) for r in range(rows) for c in range(cols) if (r + c) % 2 == parity]


def tile_crop(photo: np.ndarray, corner: tuple[int, int], rng: np.random.Generator, tile: int) -> np.ndarray:
    """A square crop inside one tile, half its side or more, mirrored half of the time."""
    side = int(rng.integers(tile // 2, tile + 1))
    y = corner[0] + int(rng.integers(0, tile - side + 1))
    x = corner[1] + int(rng.integers(0, tile - side + 1))
    crop = photo[y : y + side, x : x + side]
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def photo_classes(photo_index: int, corner: tuple[int, int], photo: np.ndarray, tile: int) -> int:
    """Four classes: each photograph's top and bottom half."""
    return 2 * photo_index + int(corner[0] + tile / 2 >= photo.shape[0] / 2)


# --- the two cases --------------------------------------------------------------------------------------
def digits_case(folder: Path, count: int) -> tuple[Path, list[ImageSet]]:
    from engine.datasets.base import stratified_indices

    rng = np.random.default_rng(0)
    x, y = digits()
    train_index, test_index = stratified_indices(y, 0.2, seed=0)
    data = folder / "digits.npz"
    np.savez(data, x_train=x[train_index], y_train=y[train_index])
    held = x[test_index][:count]
    photos = photographs()
    whole = [save(photo, folder / f"photo-whole{i}.png") for i, photo in enumerate(photos)]
    crops = [save(random_crop(photos[i % len(photos)], rng, 80, 420), folder / f"photo{i}.png") for i in range(count)]
    sets = [
        ImageSet(
            "held-out digits, rendered at 64 px",
            "own kind",
            [save(rendered_larger(d), folder / f"digit{i}.png") for i, d in enumerate(held)],
        ),
        ImageSet(
            "held-out digits, as stored (8×8 files)",
            "own kind",
            [save(d, folder / f"digit8-{i}.png") for i, d in enumerate(held)],
            goal=False,
        ),
        ImageSet(
            "held-out digits, drawn on paper",
            "own kind",
            [save(drawn_on_paper(d, rng), folder / f"paper{i}.png") for i, d in enumerate(held)],
            goal=False,
        ),
        ImageSet("photographs, whole and cropped", "other kind", whole + crops),
        shapes_set(folder, count),
        *noise_sets(folder, count, rng),
    ]
    return data, sets


def photos_case(folder: Path, count: int, per_class: int, tile: int) -> tuple[Path, list[ImageSet]]:
    rng = np.random.default_rng(1)
    photos = photographs()[:2]  # the classes: the two photographs every installation has
    images, labels = [], []
    for index, photo in enumerate(photos):
        corners = tiles(photo, 0, tile)
        for _ in range(per_class * 2):
            corner = corners[int(rng.integers(len(corners)))]
            crop = tile_crop(photo, corner, rng, tile)
            images.append(np.asarray(Image.fromarray(crop).resize((32, 32), Image.Resampling.BILINEAR)))
            labels.append(photo_classes(index, corner, photo, tile))
    data = folder / f"photo-crops-{tile}.npz"
    np.savez(
        data,
        x=np.stack(images),
        y=np.array(labels),
        class_names=np.array(["temple top", "temple bottom", "flower top", "flower bottom"]),
    )
    held = []
    for i in range(count):
        photo = photos[i % 2]
        corners = tiles(photo, 1, tile)
        corner = corners[int(rng.integers(len(corners)))]
        held.append(save(tile_crop(photo, corner, rng, tile), folder / f"held{tile}-{i}.png"))
    x, _ = digits()
    pick = rng.choice(len(x), count, replace=False)
    sets = [
        ImageSet(f"held-out photo crops (the other {tile}-px tiles)", "own kind", held, goal=tile == TILES["photos"]),
        ImageSet(
            "digits, rendered at 64 px",
            "other kind",
            [save(rendered_larger(x[i]), folder / f"pdigit{i}.png") for i in pick],
        ),
        ImageSet(
            "digits, drawn on paper",
            "other kind",
            [save(drawn_on_paper(x[i], rng), folder / f"pdrawn{i}.png") for i in pick],
        ),
        shapes_set(folder, count),
        *noise_sets(folder, count, rng),
    ]
    return data, sets


# --- measuring ---------------------------------------------------------------------------------------------
def train_run(data: Path, folder: Path, name: str, epochs: int) -> Any:
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    config = ExperimentConfig().updated(
        **{
            "data.name": f"npz:{data}",
            "arch.name": "bn_cnn",
            "arch.batchnorm": True,
            "training.epochs": epochs,
            "training.batch_size": 32,
        }
    )
    result = train(config, run_dir=folder / name)
    if result.failed:
        raise SystemExit(f"{name}: training failed: {result.failed}")
    return result


def todays_score(classifier: Any, result: Any) -> Any:
    """The score runs had before: the feature part alone, its line at the 99th percentile of the
    validation images, fitted on the same training images."""
    from engine.datasets.base import stratified_subset
    from engine.inference.ood import MAX_FIT_SAMPLES, fit_from_features

    dataset = result.dataset
    keep = stratified_subset(dataset.y_train, MAX_FIT_SAMPLES, 0)
    train_features = classifier.features(dataset.x_train[keep].astype(np.float32))
    val_features = classifier.features(dataset.x_val.astype(np.float32))
    return fit_from_features(train_features, dataset.y_train[keep], val_features)


def measure(case: str, data: Path, sets: list[ImageSet], folder: Path, epochs: int, results: Results) -> None:
    from engine.images.prepare import prepare
    from engine.inference.classifier import Classifier

    result = train_run(data, folder, f"run-{case}", epochs)
    classifier = Classifier.from_run(folder / f"run-{case}")
    today = todays_score(classifier, result)
    accuracy = result.metrics.val_accuracy
    results.figure(f"{case}.val_accuracy", accuracy, f"\n{case} model: validation accuracy {accuracy:.3f}")
    rows = []
    for image_set in sets:
        scores, parts = classifier.unfamiliarity(image_set.files)
        inputs = np.stack([prepare(f, classifier.spec).array for f in image_set.files])
        before = float((~today.familiar(classifier.features(inputs))).mean())
        now = float((scores > 1.0).mean())
        by_part = {name: float((value > 1.0).mean()) for name, value in parts.items()}
        key = f"{case}.{image_set.name}"
        results.figure(f"{key}.flagged", now)
        results.figure(f"{key}.flagged_before", before)
        for name, share in by_part.items():
            results.figure(f"{key}.flagged_by_{name}", share)
        goal = GOALS[image_set.kind] if image_set.goal else "—"
        rows.append(
            [image_set.name, len(image_set.files), f"{now:.0%}", f"{before:.0%}", goal]
            + [f"{by_part.get(name, float('nan')):.0%}" for name in ("features", "image")]
        )
        print(f"  {image_set.name}: {now:.0%} unfamiliar (before: {before:.0%}; goal {goal})", flush=True)
        if image_set.goal:
            results.note(goal_note(case, image_set, now, before))
    results.table(
        f"{case} model: share called unfamiliar",
        ["images", "n", "now", "before (features, p99)", "goal", "by the features part", "by the image part"],
        rows,
    )


def goal_note(case: str, image_set: ImageSet, now: float, before: float) -> str:
    """Whether the share flagged meets the issue's goal for its kind, and by how much it misses."""
    low, high = LIMITS[image_set.kind]
    verdict = "met" if low <= now <= high else f"missed by {max(low - now, now - high) * 100:.1f} points"
    return (
        f"{case} model, {image_set.name}: {now:.1%} called unfamiliar (before: {before:.1%}); "
        f"goal {GOALS[image_set.kind]}: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument(
        "--cases", default="digits,photos,photos-far", help="which models, comma-separated: digits, photos, photos-far"
    )
    parser.add_argument("--count", type=int, default=100, help="images per set")
    args = parser.parse_args(argv)
    cases = args.cases.split(",")
    if unknown := set(cases) - {"digits", *TILES}:
        parser.error(f"unknown case {sorted(unknown)[0]!r}: choose among digits, {', '.join(TILES)}")
    count = 6 if args.smoke else args.count
    epochs = 1 if args.smoke else 20
    per_class = 30 if args.smoke else 400
    os.environ.setdefault("LAYERLAB_HOME", tempfile.mkdtemp(prefix="layerlab-bench-"))
    results = Results("ood_real", "Unfamiliar images caught on real pictures", smoke=args.smoke)
    results.settings.update(
        count=count, epochs=epochs, photo_crops_per_class=per_class, photographs=len(photographs()), cases=args.cases
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for case in cases:
            if case == "digits":
                data, sets = digits_case(folder, count)
            else:
                data, sets = photos_case(folder, count, per_class, TILES[case])
            measure(case, data, sets, folder, epochs, results)
    results.note(
        "now: the run's ood.npz (image statistics as given + penultimate features, calibrated on the "
        "validation split at a 5 % false-alarm rate); before: the features' Mahalanobis distance alone, "
        "its line at the 99th percentile of the validation images (the score runs had until now)"
    )
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
