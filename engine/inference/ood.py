"""When not to trust an answer: is this image like the ones the model was trained on?

Two kinds of evidence, each a score fitted at the end of training and calibrated on validation
images, combined into one verdict:

- `features`: what the network made of the image. The Mahalanobis distance of its penultimate
  features to the nearest class mean, with one covariance shared by all classes (Lee et al. 2018,
  "A simple unified framework for detecting out-of-distribution samples"), estimated with
  Ledoit-Wolf shrinkage so that a few hundred samples in hundreds of dimensions still give an
  invertible matrix.
- `image`: the image as the user gave it, before the network's preparation
  (`engine.images.prepare.as_given`), described by a few statistics a person would name (grey
  levels, background and ink, edges, fine texture, colour: `engine.images.statistics`) and scored
  by the mean distance to its k nearest training images in those terms (the k-nearest-neighbour
  score of Sun et al. 2022, "Out-of-distribution detection with deep nearest neighbors", here on
  named statistics rather than on learned features). Preparation can make a photograph look like
  a digit (cropped to its "strokes", contrast stretched, centred on black); the statistics of
  the same window as the user gave it still show a textured scene with no dark background.

Calibration: each part's score is divided by its own (1 − `false_alarm`) quantile over the
validation images, passed through the same preparation a user's file goes through; the combined
score is the largest of the two, and the line is its (1 − `false_alarm`) quantile over the same
images. So about `false_alarm` (default 5 %) of images like the validation data are called
unfamiliar, whatever the parts. Digits may come as stored (a small file) or as a larger picture:
each way is calibrated on its own and held to the rate (the higher line is kept). Every score
is stored divided by that line: above 1 is unfamiliar, for the combined score (`scores`) and for
each part alone (`parts`, what `classify --json` shows as `ood_parts`). Nothing is fitted on the
images a verdict is given about.

Saved in the run folder as `ood.npz` (`numpy.savez`, plain arrays: read back with
`allow_pickle=False` and checked, never unpickled; `version` 2). Files of version 1 (the feature
part alone, its threshold at the 99th percentile) still load and answer as before. Runs trained
before either existed have no such file: `load_ood` returns None and classification says nothing
about familiarity.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.architectures.outputs import output_layer
from engine.core.errors import RunError
from engine.core.files import atomic_write, printable_path, read_regular_file
from engine.inference.features import array_batches, dual_outputs, feature_model
from engine.inference.ood_fit import FitData

OOD_FILE = "ood.npz"
METHOD = "mahalanobis+image-knn"
FORMAT_VERSION = 2
DEFAULT_FALSE_ALARM = 0.05  # the share of images like the validation data called unfamiliar
LEGACY_PERCENTILE = 99.0  # version 1: the threshold was this percentile of the validation scores
MAX_FIT_SAMPLES = 2000  # enough for the means, a shrunk covariance and the image neighbours; bounded
MAX_CALIBRATION_SAMPLES = 1000
MAX_FEATURES = 4096  # a precision matrix of 4096² float32 is 64 MiB: beyond, no feature part
MAX_FILE_BYTES = 256 * 2**20
NEIGHBOURS = 20  # measured: fewer false alarms on digits drawn larger than 5, as many photographs caught
MIN_SCALE = 1e-3  # a statistic constant over the training images still measures departures from it
PARTS = ("features", "image")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeaturePart:
    """Class means (K, D) and the shared precision matrix (D, D) of the penultimate features."""

    means: np.ndarray
    precision: np.ndarray

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of each row of `features` (N, D) to the nearest class mean."""
        f = np.asarray(features, np.float64).reshape(len(features), -1)
        p = self.precision.astype(np.float64)
        means = self.means.astype(np.float64)
        fp = f @ p
        squared = (fp * f).sum(axis=1)[:, None] - 2.0 * fp @ means.T + ((means @ p) * means).sum(axis=1)[None, :]
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))


@dataclass(frozen=True)
class ImagePart:
    """The training images' statistics (n, S), standardised by their median (`centre`) and spread
    (`scale`); an image's score is its mean distance to its `k` nearest."""

    reference: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    k: int = NEIGHBOURS

    @classmethod
    def fit(cls, statistics: np.ndarray, k: int = NEIGHBOURS) -> ImagePart:
        s = np.asarray(statistics, np.float64)
        centre = np.median(s, axis=0)
        spread = 1.4826 * np.median(np.abs(s - centre), axis=0)  # the MAD, as a standard deviation
        scale = np.maximum(np.maximum(spread, s.std(axis=0)), MIN_SCALE)
        return cls(((s - centre) / scale).astype(np.float32), centre.astype(np.float32), scale.astype(np.float32), k)

    def scores(self, statistics: np.ndarray) -> np.ndarray:
        z = (np.asarray(statistics, np.float64) - self.centre) / self.scale
        reference = self.reference.astype(np.float64)
        k = max(1, min(self.k, len(reference)))
        out = np.empty(len(z))
        for start in range(0, len(z), 256):  # (256 × n) distances at a time: memory stays bounded
            chunk = z[start : start + 256]
            squared = (chunk**2).sum(axis=1)[:, None] - 2 * chunk @ reference.T + (reference**2).sum(axis=1)[None, :]
            nearest = np.partition(np.maximum(squared, 0.0), k - 1, axis=1)[:, :k]
            out[start : start + 256] = np.sqrt(nearest).mean(axis=1)
        return out


@dataclass(frozen=True)
class OodModel:
    """The parts (either may be missing) and, per part, the score at which that part alone would
    call an image unfamiliar (`lines`): the combined line of the calibration, in its terms."""

    features: FeaturePart | None
    image: ImagePart | None
    lines: dict[str, float]
    false_alarm: float = DEFAULT_FALSE_ALARM
    method: str = METHOD
    version: int = FORMAT_VERSION

    @property
    def means(self) -> np.ndarray | None:
        return None if self.features is None else self.features.means

    def raw(self, features: np.ndarray | None = None, statistics: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Each part's own score (a Mahalanobis distance, a mean neighbour distance)."""
        found: dict[str, np.ndarray] = {}
        if self.features is not None and features is not None:
            found["features"] = self.features.scores(features)
        if self.image is not None and statistics is not None:
            found["image"] = self.image.scores(statistics)
        return found

    def parts(self, features: np.ndarray | None = None, statistics: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Each part's score divided by its line: above 1, that part alone calls the image unfamiliar."""
        return {name: score / self.lines[name] for name, score in self.raw(features, statistics).items()}

    def scores(self, features: np.ndarray | None = None, statistics: np.ndarray | None = None) -> np.ndarray:
        """How unfamiliar each image is, 1 being the line: the largest of its parts."""
        parts = self.parts(features, statistics)
        if not parts:
            raise ValueError("no evidence to score: give the features, the image statistics or both")
        return np.max(np.stack(list(parts.values())), axis=0)

    def familiar(self, features: np.ndarray | None = None, statistics: np.ndarray | None = None) -> np.ndarray:
        """True where an image looks like the training data."""
        return self.scores(features, statistics) <= 1.0

    def save(self, run_dir: str | Path) -> Path:
        """Write `ood.npz` atomically into `run_dir`."""
        target = Path(run_dir) / OOD_FILE
        arrays: dict[str, Any] = {
            "version": np.int64(self.version),
            "method": np.str_(self.method),
            "false_alarm": np.float64(self.false_alarm),
            "parts": np.array(sorted(self.lines), dtype=np.str_),
            "lines": np.array([self.lines[name] for name in sorted(self.lines)], np.float64),
        }
        if self.features is not None:
            arrays |= {"means": self.features.means.astype(np.float32), "precision": self.features.precision}
        if self.image is not None:
            arrays |= {
                "image_reference": self.image.reference,
                "image_centre": self.image.centre,
                "image_scale": self.image.scale,
                "image_k": np.int64(self.image.k),
            }

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(target, write)
        return target


# --- fitting -------------------------------------------------------------------------------------------
Calibration = tuple[np.ndarray | None, np.ndarray | None]  # (features, image statistics) of one kind of image


def calibrated(
    features: FeaturePart | None,
    image: ImagePart | None,
    kinds: Sequence[Calibration],
    false_alarm: float = DEFAULT_FALSE_ALARM,
) -> OodModel:
    """The model whose lines call at most `false_alarm` of the calibration images of each kind
    unfamiliar (see the module docstring). `kinds`: the same images given in different ways
    (digits as stored, and drawn larger), each held to the rate: the worst of them sets the line."""
    if not 0.0 < false_alarm < 1.0:
        raise ValueError(f"the false-alarm rate must be between 0 and 1, not {false_alarm}")
    model = OodModel(features, image, {name: 1.0 for name in PARTS}, false_alarm)
    raws = [raw for raw in (model.raw(*kind) for kind in kinds) if raw and len(next(iter(raw.values())))]
    if not raws:
        raise ValueError("nothing to calibrate on")
    quantile = 1.0 - false_alarm
    names = list(raws[0])
    scales = {name: max(max(float(np.quantile(raw[name], quantile)) for raw in raws), 1e-12) for name in names}
    line = max(
        float(np.quantile(np.max(np.stack([raw[name] / scales[name] for name in names]), axis=0), quantile))
        for raw in raws
    )
    return OodModel(features, image, {name: scales[name] * line for name in names}, false_alarm)


def fit_feature_part(features: np.ndarray, labels: np.ndarray) -> FeaturePart:
    """Class means and the shrunk shared precision matrix of `features` (N, D)."""
    from sklearn.covariance import LedoitWolf  # slow to import: loaded when needed

    f = np.asarray(features, np.float64).reshape(len(features), -1)
    labels = np.asarray(labels).reshape(-1)
    present = np.unique(labels)
    means = np.stack([f[labels == c].mean(axis=0) for c in present])
    centred = f - means[np.searchsorted(present, labels)]
    precision = LedoitWolf(assume_centered=True, store_precision=True).fit(centred).precision_
    return FeaturePart(means.astype(np.float32), precision.astype(np.float32))


def fit_from_features(
    features: np.ndarray,
    labels: np.ndarray,
    validation_features: np.ndarray | None = None,
    percentile: float = LEGACY_PERCENTILE,
) -> OodModel:
    """The feature part alone, its line at the `percentile` of the validation scores (of the
    training scores when there is no validation): the score runs had before the image part."""
    part = fit_feature_part(features, labels)
    f = np.asarray(features).reshape(len(features), -1)
    reference = validation_features if validation_features is not None and len(validation_features) else f
    line = float(np.percentile(part.scores(reference), percentile))
    return OodModel(part, None, {"features": max(line, 1e-12)}, 1.0 - percentile / 100.0, "mahalanobis", 1)


def fit_ood(
    model: Any,
    dataset: Any,
    spec: Any,
    *,
    batch_size: int | None = None,
    false_alarm: float = DEFAULT_FALSE_ALARM,
    max_samples: int = MAX_FIT_SAMPLES,
    seed: int = 0,
    cancel: Any = None,
    cached: tuple[Any, Any] | None = None,
) -> OodModel:
    """Fit both parts on (at most `max_samples`, stratified) training images of `dataset` and
    calibrate them on its validation images (the training images when it has none), each passed
    through `spec`'s preparation as a user's file would be. Without the feature part when the
    penultimate layer is too wide (`MAX_FEATURES`).

    `cached`: (head_features, features) when a frozen base's features of both splits are at hand
    (the trainer's feature cache; `head_features` from its `CachePlan`: the model's own layers from
    the cut on, giving [penultimate features, probabilities]). The training features then come
    from those rows instead of a second pass of the base over the images.
    """
    data = FitData.of(dataset, spec, max_samples, MAX_CALIBRATION_SAMPLES, seed)
    width = int(np.prod(output_layer(model).input.shape[1:]))
    features = None
    kinds: list[Calibration] = [(None, kind.statistics) for kind in data.calibration]
    if width <= MAX_FEATURES:
        network = feature_model(model)
        if cached is not None:
            head, rows = cached
            train_inputs, through = rows["train"].read(data.train_index), head
        else:
            train_inputs, through = data.train_images, network
        train_features, _ = dual_outputs(through, array_batches(train_inputs, batch_size), cancel)
        features = fit_feature_part(train_features, data.train_labels)
        kinds = []
        for kind in data.calibration:
            if kind.cached and cached is not None:  # the split's own images: their cached base features serve
                head, rows = cached
                inputs, through = rows[data.calibration_split].read(data.calibration_index), head
            else:
                inputs, through = kind.inputs, network
            kinds.append((dual_outputs(through, array_batches(inputs, batch_size), cancel)[0], kind.statistics))
    else:
        log.info("no feature part: the penultimate layer has %d features (at most %d)", width, MAX_FEATURES)
    return calibrated(features, ImagePart.fit(data.train_statistics), kinds, false_alarm)


# --- reading back -----------------------------------------------------------------------------------------
def load_ood(run_dir: str | Path) -> OodModel | None:
    """The run's `ood.npz`, checked; None when the run has none. `RunError` naming the file when
    it is damaged (not an npz, pickled content, wrong shapes, not finite)."""

    path = Path(run_dir) / OOD_FILE
    if not os.path.lexists(path):
        return None
    name = printable_path(path)
    data = read_regular_file(path, max_bytes=MAX_FILE_BYTES, error=RunError, what="an out-of-distribution file")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as err:  # not a zip, a pickle, a damaged member
        raise RunError(
            f"{name} is damaged ({str(err).splitlines()[0][:120] if str(err) else type(err).__name__})"
        ) from None
    try:
        version = int(arrays["version"]) if "version" in arrays else 1
        model = _version_1(arrays) if version == 1 else _version_2(arrays) if version == 2 else None
    except KeyError as err:
        raise RunError(f"{name} lacks the array {err}") from None
    except (TypeError, ValueError):
        model = None
    if model is None:
        if "version" in arrays and int(arrays["version"]) > FORMAT_VERSION:
            raise RunError(f"{name} was written by a newer LayerLab (version {int(arrays['version'])})")
        raise RunError(f"{name} does not hold a valid out-of-distribution model (shapes or values)")
    return model


def _version_1(arrays: dict[str, np.ndarray]) -> OodModel | None:
    """The feature part alone, its threshold a Mahalanobis distance."""
    features = _feature_part(arrays)
    threshold = arrays["threshold"]
    if features is None or threshold.shape != () or not np.isfinite(threshold) or float(threshold) <= 0:
        return None
    percentile = float(arrays["percentile"]) if "percentile" in arrays else LEGACY_PERCENTILE
    return OodModel(features, None, {"features": float(threshold)}, 1.0 - percentile / 100.0, str(arrays["method"]), 1)


def _version_2(arrays: dict[str, np.ndarray]) -> OodModel | None:
    names, lines = [str(n) for n in np.asarray(arrays["parts"]).reshape(-1)], np.asarray(arrays["lines"]).reshape(-1)
    if len(names) != len(lines) or not set(names) <= set(PARTS) or not names or lines.dtype.kind != "f":
        return None
    if not (np.isfinite(lines).all() and (lines > 0).all()):
        return None
    features = _feature_part(arrays) if "features" in names else None
    image = _image_part(arrays) if "image" in names else None
    if ("features" in names and features is None) or ("image" in names and image is None):
        return None
    false_alarm = float(arrays["false_alarm"])
    if not 0.0 < false_alarm < 1.0:
        return None
    return OodModel(features, image, dict(zip(names, map(float, lines))), false_alarm, str(arrays["method"]), 2)


def _feature_part(arrays: dict[str, np.ndarray]) -> FeaturePart | None:
    means, precision = arrays["means"], arrays["precision"]
    ok = (
        means.ndim == 2
        and precision.ndim == 2
        and precision.shape == (means.shape[1],) * 2
        and means.dtype.kind == "f"
        and precision.dtype.kind == "f"
        and np.isfinite(means).all()
        and np.isfinite(precision).all()
    )
    return FeaturePart(means, precision) if ok else None


def _image_part(arrays: dict[str, np.ndarray]) -> ImagePart | None:
    reference, centre, scale = arrays["image_reference"], arrays["image_centre"], arrays["image_scale"]
    k = int(arrays["image_k"])
    ok = (
        reference.ndim == 2
        and len(reference) > 0
        and centre.shape == scale.shape == (reference.shape[1],)
        and all(a.dtype.kind == "f" and np.isfinite(a).all() for a in (reference, centre, scale))
        and (scale > 0).all()
        and k >= 1
    )
    return ImagePart(reference, centre, scale, k) if ok else None
