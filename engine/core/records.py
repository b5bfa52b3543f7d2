"""The records a run produces and its events carry: one epoch's figures (`EpochRecord`), the final
figures of a run (`RunMetrics`, with its per-class rows and misclassified samples).

They are the typed contents of `history.json` and `metrics.json` (read and written by
`engine.runs.files`), a public format other tools read: their keys never change. Numbers are
finite or `None` (JSON `null`, never `NaN`, which is not JSON); unknown keys written by newer
versions are ignored. Immutable once made, so they are safe to hand to another thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


@dataclass(frozen=True)
class ClassMetrics:
    """One row of the per-class table."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int  # how many samples truly belong to the class


def _finite_or_none(value: Any) -> Any:
    """NaN and ±inf (a diverged or unmeasured figure) are stored as `None`."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


Measure = Annotated[float | None, BeforeValidator(_finite_or_none)]


class _RunFile(BaseModel):
    """Immutable once made (safe to hand to another thread); extra keys ignored on load."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class EpochRecord(_RunFile):
    """One entry of `history.json`: the figures Keras logged at the end of an epoch."""

    epoch: int = Field(ge=0)  # 0-based, counted over all stages
    loss: Measure = None  # None where not finite / not measured
    accuracy: Measure = None
    val_loss: Measure = None  # None when there is no validation data
    val_accuracy: Measure = None
    seconds: float = Field(0.0, ge=0.0)
    stage: int = Field(1, ge=0)
    partial: bool = False  # the epoch was cut short by a stop
    learning_rate: Measure = None  # the rate in force during the epoch (None: files written before it was recorded)
    # Seconds of training when the epoch ended: the epochs' own time, validation included, from the
    # first epoch's start (loading, building, decoding, feature extraction and pauses left out; a
    # resumed run goes on counting). None: files written before it was recorded.
    elapsed_seconds: float | None = Field(None, ge=0.0)


class Misclassified(_RunFile):
    """A validation sample the final model gets wrong."""

    index: int = Field(ge=0)  # position in the validation split
    source: str | None = None  # the file it came from, for file-based data
    true: str
    predicted: str
    confidence: float  # the model's probability for `predicted`
    # Array data: the array and row of the user's data before any split ("x_train", 1234).
    array: str | None = None
    row: int | None = Field(None, ge=0)

    @property
    def name(self) -> str:
        """The sample in the user's terms: its file, "x_train[1234]", or its place in the split."""
        return sample_name(self.source, self.array, self.row, f"validation image {self.index}")


class RunMetrics(_RunFile):
    """`metrics.json`: final figures of a run, or why it failed.

    The test figures come from one evaluation of the finished model on the dataset's test split
    (`test_count` 0 and figures None when there is none, or when the run was stopped). With
    `test_is_validation` the run validated on the test split during training: the test figures
    are then its validation figures, and no untouched test set is left. `evaluated_weights` says
    which weights all final figures (and the saved model) are of: the last epoch's, or the best
    validation epoch's (`evaluated_epoch`, 0-based) when early stopping restored them. Keys absent
    from files written before these existed read as the defaults.
    """

    val_count: int = 0
    val_loss: Measure = None
    val_accuracy: Measure = None
    train_loss: Measure = None
    train_accuracy: Measure = None
    misclassified: list[Misclassified] = []
    misclassified_count: int = 0
    confusion_matrix: list[list[int]] = []  # rows: true class, columns: predicted
    cancelled: bool = False
    stopped_early: bool = False
    feature_cache: bool = False
    epochs_run: int = 0
    # The test split (absent from files written before test sets existed: the defaults).
    test_count: int = 0
    test_loss: Measure = None
    test_accuracy: Measure = None
    test_confusion_matrix: list[list[int]] = []  # rows: true class, columns: predicted
    test_class_counts: list[int] = []  # test samples per class (class order of preprocess.json)
    test_class_correct: list[int] = []  # of those, classified correctly
    test_is_validation: bool = False
    evaluated_weights: Literal["last", "best"] = "last"
    evaluated_epoch: int | None = None
    # What a comparison of runs shows (None in files written before they were recorded).
    trainable_params: int | None = None
    total_params: int | None = None
    seconds: float | None = Field(None, ge=0.0)  # wall time of the whole run: loading, training, evaluation
    # Training time alone (`EpochRecord.elapsed_seconds` of the last epoch), and the seconds at each
    # epoch's end (None / empty in files written before they were recorded).
    train_seconds: float | None = Field(None, ge=0.0)
    elapsed_seconds: list[float] = []
    # `training.target_accuracy`: the run ended at the first epoch whose validation accuracy reached it.
    reached_target: bool = False
    # Test-time augmentation: the final validation and test figures average this many views of each
    # image (1: the image alone).
    tta_views: int = 1
    failed: str | None = None
    failed_kind: str | None = None
    # Insight: the per-class table of the validation (and test) data, and how many
    # samples the user's label decisions excluded or relabelled for this training.
    per_class: list[ClassMetrics] = []
    test_per_class: list[ClassMetrics] = []
    excluded_samples: int = 0
    relabelled_samples: int = 0
    # Autoencoders: mean squared error on 0..1 pixels over the validation images, of
    # the reconstructions from the (noisy) inputs, and of those noisy inputs themselves (0 when
    # not denoising); a denoiser works when the first is below the second. `noise`: the std used.
    reconstruction_error: Measure = None
    noisy_input_error: Measure = None
    noise: float | None = None

    @classmethod
    def failure(cls, reason: str, kind: str, epochs_run: int) -> RunMetrics:
        return cls(failed=reason, failed_kind=kind, epochs_run=epochs_run)

    def to_json_dict(self) -> dict[str, Any]:
        """The keys `metrics.json` has always had: the figures, or for a failed run only
        `failed`, `failed_kind` and `epochs_run`."""
        if self.failed is not None:
            return {"failed": self.failed, "failed_kind": self.failed_kind, "epochs_run": self.epochs_run}
        return self.model_dump(mode="json", exclude={"failed", "failed_kind"})


def sample_name(source: str | None, array: str | None, row: int | None, otherwise: str) -> str:
    """A sample in the user's terms: its file, else its array and row ("x_train[1234]"), else
    `otherwise` (its place in a split). One rule for every per-sample answer."""
    if source:
        return source
    if array is not None and row is not None:
        return f"{array}[{row}]"
    return otherwise
