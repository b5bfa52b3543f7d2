"""Unfamiliar inputs on real pictures: a digits model flags photographs and keeps real digits, a
photo model flags digits and keeps photographs of its own kind; older `ood.npz` files still load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import ExperimentConfig
from engine.core.errors import RunError

pytest.importorskip("tensorflow")
from engine.inference.classifier import UNFAMILIAR, Classifier
from engine.inference.ood import OOD_FILE, FeaturePart, ImagePart, calibrated, load_ood
from engine.training.trainer import train


def sample_photos() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return list(load_sample_images().images)  # a temple and a flower: real photographs


def crop(photo: np.ndarray, rng: np.random.Generator, low: int, high: int) -> np.ndarray:
    side = int(rng.integers(low, high + 1))
    y, x = int(rng.integers(0, photo.shape[0] - side)), int(rng.integers(0, photo.shape[1] - side))
    return photo[y : y + side, x : x + side]


def tiles(photo: np.ndarray, parity: int, side: int = 100) -> list[np.ndarray]:
    """The tiles of one colour of a checkerboard of `side`-pixel squares over the photograph."""
    rows, cols = photo.shape[0] // side, photo.shape[1] // side
    return [
        photo[r * side : (r + 1) * side, c * side : (c + 1) * side]
        for r in range(rows)
        for c in range(cols)
        if (r + c) % 2 == parity
    ]


def bigger(digit: np.ndarray, side: int = 64) -> np.ndarray:
    """A stored 8×8 digit drawn larger (bicubic): a real handwritten digit as a picture."""
    return np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC))


def on_paper(digit: np.ndarray) -> np.ndarray:
    """Dark ink on a light, larger sheet, off-centre."""
    sheet = np.full((180, 260), 235, np.uint8)
    sheet[30:150, 120:240] = np.minimum(sheet[30:150, 120:240], 255 - bigger(digit, 120))
    return sheet


def files(arrays: list[np.ndarray], folder: Path, stem: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i, array in enumerate(arrays):
        Image.fromarray(array).save(folder / f"{stem}{i}.png")
        paths.append(folder / f"{stem}{i}.png")
    return paths


def flagged(classifier: Classifier, paths: list[Path]) -> float:
    scores, _ = classifier.unfamiliarity(paths)
    return float((scores > 1.0).mean())


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """An MLP on 80 % of scikit-learn's real digits; the other 20 % (the test split) it never saw,
    not even to calibrate the line."""
    config = ExperimentConfig().updated(
        **{"data.test_split": 0.2, "training.epochs": 12, "training.batch_size": 32, "arch.name": "mlp"}
    )
    run_dir = tmp_path_factory.mktemp("ood") / "digits"
    result = train(config, run_dir=run_dir)
    assert result.failed is None, result.failed
    return result.dataset, Classifier.from_run(run_dir), run_dir


def test_a_digits_model_flags_photographs_and_keeps_real_digits(digits_model, tmp_path: Path) -> None:
    dataset, classifier, _ = digits_model
    held_out = [image[..., 0] for image in dataset.x_test[:60]]
    assert flagged(classifier, files([bigger(d) for d in held_out], tmp_path / "d", "digit")) <= 0.1
    assert flagged(classifier, files([on_paper(d) for d in held_out[:30]], tmp_path / "p", "paper")) <= 0.2
    rng = np.random.default_rng(0)
    photos = sample_photos()
    pictures = photos + [crop(photos[i % 2], rng, 100, 400) for i in range(18)]
    assert flagged(classifier, files(pictures, tmp_path / "photos", "photo")) >= 0.9
    prediction = classifier.classify(tmp_path / "photos" / "photo0.png")
    assert prediction.familiar is False and prediction.verdict == UNFAMILIAR
    assert set(prediction.ood_parts) == {"features", "image"} and prediction.ood_score == max(
        prediction.ood_parts.values()
    )
    assert prediction.ood_parts["image"] > 1.0, "the photograph as given is unlike any digit"


def test_noise_is_always_unfamiliar(digits_model, tmp_path: Path) -> None:
    _, classifier, _ = digits_model
    rng = np.random.default_rng(1)
    noise = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    noise += [np.clip(rng.normal(128, 60, (64, 64)), 0, 255).astype(np.uint8) for _ in range(8)]
    assert flagged(classifier, files(noise, tmp_path, "noise")) == 1.0


def test_a_photo_model_flags_digits_and_keeps_photographs_of_its_own_kind(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(2)
    photos = sample_photos()
    # Two classes (which photograph), crops from every other 50-pixel tile of a checkerboard;
    # held out: crops from the other tiles, never a pixel trained or calibrated on.
    trained = [tiles(photo, 0, 50) for photo in photos]
    x = [
        np.asarray(Image.fromarray(crop(trained[i % 2][i // 2 % 48], rng, 25, 49)).resize((16, 16))) for i in range(400)
    ]
    np.savez(tmp_path / "crops.npz", x=np.stack(x), y=np.arange(400) % 2)
    config = ExperimentConfig().updated(
        **{"data.name": f"npz:{tmp_path / 'crops.npz'}", "training.epochs": 8, "arch.name": "mlp"}
    )
    result = train(config, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    classifier = Classifier.from_run(tmp_path / "run")
    own = [crop(tiles(photos[i % 2], 1, 50)[i // 2 % 48], rng, 25, 49) for i in range(30)]
    assert flagged(classifier, files(own, tmp_path / "own", "crop")) <= 0.2
    digits = np.round(load_digits().images[:30] * 255 / 16).astype(np.uint8)
    assert flagged(classifier, files([bigger(d) for d in digits], tmp_path / "digits", "digit")) >= 0.9
    assert flagged(classifier, files([on_paper(d) for d in digits], tmp_path / "drawn", "drawn")) >= 0.9


def test_an_older_runs_ood_file_still_loads_and_answers_as_before(digits_model, tmp_path: Path) -> None:
    _, classifier, _ = digits_model
    part = classifier.ood.features
    np.savez(  # what runs saved before the image part: the feature part, its line a distance
        tmp_path / OOD_FILE,
        means=part.means,
        precision=part.precision,
        threshold=np.float64(7.5),
        percentile=np.float64(99.0),
        method=np.str_("mahalanobis"),
        version=np.int64(1),
    )
    older = load_ood(tmp_path)
    assert older.version == 1 and older.image is None and older.lines == {"features": 7.5}
    features = np.random.default_rng(0).normal(size=(5, part.means.shape[1])).astype(np.float32)
    distances = part.scores(features)
    np.testing.assert_allclose(older.scores(features), distances / 7.5)
    np.testing.assert_array_equal(older.familiar(features), distances <= 7.5)
    (tmp_path / "unversioned").mkdir()
    np.savez(
        tmp_path / "unversioned" / OOD_FILE,
        means=part.means,
        precision=part.precision,
        threshold=np.float64(7.5),
        percentile=np.float64(99.0),
        method=np.str_("mahalanobis"),
    )
    assert load_ood(tmp_path / "unversioned").lines == {"features": 7.5}
    newer, classifier.ood = classifier.ood, older  # an older run's model: the feature part alone
    try:
        [path] = files([bigger(np.zeros((8, 8), np.uint8))], tmp_path / "one", "blank")
        prediction = classifier.classify(path)
    finally:
        classifier.ood = newer
    assert set(prediction.ood_parts) == {"features"} and prediction.familiar == (prediction.ood_score <= 1.0)


def test_the_saved_model_reads_back_the_same_and_is_checked(digits_model, tmp_path: Path) -> None:
    _, classifier, run_dir = digits_model
    saved = load_ood(run_dir)
    assert saved.version == 2 and set(saved.lines) == {"features", "image"}
    np.testing.assert_array_equal(saved.features.means, classifier.ood.features.means)
    np.testing.assert_array_equal(saved.image.reference, classifier.ood.image.reference)
    statistics = classifier.ood.image.reference[:4] * classifier.ood.image.scale + classifier.ood.image.centre
    np.testing.assert_allclose(saved.scores(statistics=statistics), classifier.ood.scores(statistics=statistics))
    np.savez(tmp_path / OOD_FILE, version=np.int64(9), parts=np.array(["image"]), lines=np.array([1.0]))
    with pytest.raises(RunError, match="newer"):
        load_ood(tmp_path)
    np.savez(
        tmp_path / OOD_FILE,
        version=np.int64(2),
        parts=np.array(["image"]),
        lines=np.array([np.nan]),
        false_alarm=np.float64(0.05),
        method=np.str_("x"),
    )
    with pytest.raises(RunError, match="valid"):
        load_ood(tmp_path)


def test_calibration_calls_the_chosen_share_of_validation_images_unfamiliar() -> None:
    rng = np.random.default_rng(3)
    train_features, labels = rng.normal(size=(400, 6)), np.arange(400) % 4
    features = FeaturePart(
        np.stack([train_features[labels == c].mean(axis=0) for c in range(4)]).astype(np.float32),
        np.eye(6, dtype=np.float32),
    )
    image = ImagePart.fit(rng.normal(size=(400, 5)))
    val_features, val_statistics = rng.normal(size=(1000, 6)), rng.normal(size=(1000, 5))
    for false_alarm in (0.05, 0.2):
        model = calibrated(features, image, [(val_features, val_statistics)], false_alarm)
        share = 1.0 - model.familiar(val_features, val_statistics).mean()
        assert share == pytest.approx(false_alarm, abs=0.01)
        parts = model.parts(val_features, val_statistics)
        np.testing.assert_allclose(model.scores(val_features, val_statistics), np.maximum(*parts.values()))
    # Two ways of giving the same images, one harder to tell apart: each is held to the rate.
    shifted = (val_features * 1.3, val_statistics * 1.3)
    model = calibrated(features, image, [(val_features, val_statistics), shifted], 0.05)
    assert 1.0 - model.familiar(*shifted).mean() == pytest.approx(0.05, abs=0.01)
    assert 1.0 - model.familiar(val_features, val_statistics).mean() < 0.03
