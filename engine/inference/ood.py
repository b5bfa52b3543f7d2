"""When not to trust an answer: how far an image's features lie from everything trained on.

Fitted at the end of training on the penultimate features of the training data: one mean per
class and one covariance shared by all classes (Lee et al. 2018, "A simple unified framework for
detecting out-of-distribution samples"), estimated with Ledoit-Wolf shrinkage so that a few
hundred samples in hundreds of dimensions still give an invertible matrix. An image's score is
its Mahalanobis distance to the nearest class mean; it is *familiar* when the score is at most
a threshold, a high percentile of the validation images' scores (so by construction about
`100 - percentile` % of images like the validation data are called unfamiliar).

Saved in the run folder as `ood.npz` (`numpy.savez`, plain arrays: read back with
`allow_pickle=False` and checked, never unpickled). Runs trained before this existed have no
such file: `load_ood` returns None and classification says nothing about familiarity.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.architectures.outputs import output_layer
from engine.core.errors import RunError
from engine.core.files import atomic_write, printable_path, read_regular_file
from engine.datasets.base import stratified_subset
from engine.inference.features import array_batches, dual_outputs, feature_model

OOD_FILE = "ood.npz"
METHOD = "mahalanobis"
FORMAT_VERSION = 1
DEFAULT_PERCENTILE = 99.0
MAX_FIT_SAMPLES = 2000  # enough for the means and a shrunk covariance; one inference pass, bounded
MAX_FEATURES = 4096  # a precision matrix of 4096² float32 is 64 MiB: beyond, no OOD score
MAX_FILE_BYTES = 256 * 2**20

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OodModel:
    """Class means (K, D), the shared precision matrix (D, D) and the familiarity threshold."""

    means: np.ndarray
    precision: np.ndarray
    threshold: float
    percentile: float = DEFAULT_PERCENTILE
    method: str = METHOD

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of each row of `features` (N, D) to the nearest class mean."""
        f = np.asarray(features, np.float64).reshape(len(features), -1)
        p = self.precision.astype(np.float64)
        means = self.means.astype(np.float64)
        fp = f @ p
        squared = (fp * f).sum(axis=1)[:, None] - 2.0 * fp @ means.T + ((means @ p) * means).sum(axis=1)[None, :]
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def familiar(self, features: np.ndarray) -> np.ndarray:
        """True where an image looks like the training data."""
        return self.scores(features) <= self.threshold

    def save(self, run_dir: str | Path) -> Path:
        """Write `ood.npz` atomically into `run_dir`."""

        target = Path(run_dir) / OOD_FILE
        arrays = {
            "means": self.means.astype(np.float32),
            "precision": self.precision.astype(np.float32),
            "threshold": np.float64(self.threshold),
            "percentile": np.float64(self.percentile),
            "method": np.str_(self.method),
            "version": np.int64(FORMAT_VERSION),
        }

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

        atomic_write(target, write)
        return target


def fit_from_features(
    features: np.ndarray,
    labels: np.ndarray,
    validation_features: np.ndarray | None = None,
    percentile: float = DEFAULT_PERCENTILE,
) -> OodModel:
    """Fit the class means and the shared covariance on training features; the threshold is the
    `percentile` of the validation scores (of the training scores when there is no validation)."""
    from sklearn.covariance import LedoitWolf  # slow to import: loaded when needed

    f = np.asarray(features, np.float64).reshape(len(features), -1)
    labels = np.asarray(labels).reshape(-1)
    present = np.unique(labels)
    means = np.stack([f[labels == c].mean(axis=0) for c in present])
    centred = f - means[np.searchsorted(present, labels)]
    precision = LedoitWolf(assume_centered=True, store_precision=True).fit(centred).precision_
    model = OodModel(means, precision, threshold=np.inf, percentile=percentile)
    reference = validation_features if validation_features is not None and len(validation_features) else f
    threshold = float(np.percentile(model.scores(reference), percentile))
    return OodModel(means.astype(np.float32), precision.astype(np.float32), threshold, percentile)


def fit_ood(
    model: Any,
    dataset: Any,
    *,
    batch_size: int | None = None,
    percentile: float = DEFAULT_PERCENTILE,
    max_samples: int = MAX_FIT_SAMPLES,
    seed: int = 0,
    cancel: Any = None,
    cached: tuple[Any, Any] | None = None,
) -> OodModel:
    """Fit on (at most `max_samples`, stratified) training images and the validation images of
    `dataset`, through `model`'s penultimate layer. `RunError` when the features are too wide.

    `cached`: (head_features, features) when a frozen base's features of both splits are at hand
    (the trainer's feature cache; `head_features` from its `CachePlan`: the model's own layers from
    the cut on, giving [penultimate features, probabilities]). It then runs over those rows
    instead of the whole model over the images: the same penultimate features, without a second
    pass of the base (a minute and gigabytes for a folder of photos on a CPU).
    """

    width = int(np.prod(output_layer(model).input.shape[1:]))
    if width > MAX_FEATURES:
        raise RunError(
            f"no out-of-distribution score: the penultimate layer has {width} features (at most {MAX_FEATURES})"
        )
    y_train = np.asarray(dataset.y_train)
    keep = stratified_subset(y_train, max_samples, seed)
    val_count = min(len(dataset.y_val), max_samples)
    if cached is not None:
        network, rows = cached
        train_inputs, val_inputs = rows["train"].read(keep), rows["validation"].read_range(0, val_count)
    else:
        network = feature_model(model)
        x_train, _ = dataset.split("train")
        train_inputs = x_train if len(keep) == len(y_train) else x_train[keep]
        val_inputs = dataset.split("validation")[0][:val_count]
    train_features, _ = dual_outputs(network, array_batches(train_inputs, batch_size), cancel)
    val_features = None
    if val_count:
        val_features, _ = dual_outputs(network, array_batches(val_inputs, batch_size), cancel)
    return fit_from_features(train_features, y_train[keep], val_features, percentile)


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
            arrays = {key: archive[key] for key in ("means", "precision", "threshold", "percentile", "method")}
    except KeyError as err:
        raise RunError(f"{name} lacks the array {err}") from None
    except Exception as err:  # not a zip, a pickle, a damaged member
        raise RunError(
            f"{name} is damaged ({str(err).splitlines()[0][:120] if str(err) else type(err).__name__})"
        ) from None
    return _checked(arrays, name)


def _checked(arrays: dict[str, np.ndarray], name: str) -> OodModel:
    means, precision = arrays["means"], arrays["precision"]
    ok = (
        means.ndim == 2
        and precision.ndim == 2
        and precision.shape == (means.shape[1],) * 2
        and means.dtype.kind == "f"
        and precision.dtype.kind == "f"
        and arrays["threshold"].shape == ()
        and np.isfinite(means).all()
        and np.isfinite(precision).all()
        and np.isfinite(arrays["threshold"])
    )
    if not ok:
        raise RunError(f"{name} does not hold a valid out-of-distribution model (shapes or values)")
    return OodModel(means, precision, float(arrays["threshold"]), float(arrays["percentile"]), str(arrays["method"]))
