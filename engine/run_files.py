"""The typed contents of a run's JSON files: `history.json` and `metrics.json`, and how to read them.

These files are a public format (other tools read them), so their keys never change; the models
here give every reader the same validated view: numbers are finite or `None` (JSON `null`, never
`NaN`, which is not JSON), unknown keys written by newer versions are ignored, and anything that
does not fit becomes a `RunError` naming the file and the field.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from engine.errors import RunError
from engine.files import printable_path, read_regular_file
from engine.insight.metrics import ClassMetrics

MAX_JSON_BYTES = 64 * 2**20  # a history of 100 000 epochs or metrics listing 100 000 errors fit easily


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

    epoch: int = Field(ge=0)           # 0-based, counted over all stages
    loss: Measure = None               # None where not finite / not measured
    accuracy: Measure = None
    val_loss: Measure = None           # None when there is no validation data
    val_accuracy: Measure = None
    seconds: float = Field(0.0, ge=0.0)
    stage: int = Field(1, ge=0)
    partial: bool = False              # the epoch was cut short by a stop
    learning_rate: Measure = None      # the rate in force during the epoch (None: files before issue 12)


class Misclassified(_RunFile):
    """A validation sample the final model gets wrong."""

    index: int = Field(ge=0)           # position in the validation split
    source: str | None = None          # the file it came from, for file-based data
    true: str
    predicted: str
    confidence: float                  # the model's probability for `predicted`


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
    confusion_matrix: list[list[int]] = []   # rows: true class, columns: predicted
    cancelled: bool = False
    stopped_early: bool = False
    feature_cache: bool = False
    epochs_run: int = 0
    # Test split (added with issue 10).
    test_count: int = 0
    test_loss: Measure = None
    test_accuracy: Measure = None
    test_confusion_matrix: list[list[int]] = []    # rows: true class, columns: predicted
    test_class_counts: list[int] = []              # test samples per class (class order of preprocess.json)
    test_class_correct: list[int] = []             # of those, classified correctly
    test_is_validation: bool = False
    evaluated_weights: Literal["last", "best"] = "last"
    evaluated_epoch: int | None = None
    # What a comparison of runs shows (None in files written before they were recorded).
    trainable_params: int | None = None
    total_params: int | None = None
    seconds: float | None = Field(None, ge=0.0)    # wall time of the whole run: loading, training, evaluation
    failed: str | None = None
    failed_kind: str | None = None
    # Insight (issue 11): the per-class table of the validation (and test) data, and how many
    # samples the user's label decisions excluded or relabelled for this training.
    per_class: list[ClassMetrics] = []
    test_per_class: list[ClassMetrics] = []
    excluded_samples: int = 0
    relabelled_samples: int = 0
    # Autoencoders (issue 13): mean squared error on 0..1 pixels over the validation images, of
    # the reconstructions from the (noisy) inputs, and of those noisy inputs themselves (0 when
    # not denoising); a denoiser works when the first is below the second. `noise`: the std used.
    reconstruction_error: Measure = None
    noisy_input_error: Measure = None
    noise: float | None = None

    @classmethod
    def failure(cls, reason: str, kind: str, epochs_run: int) -> "RunMetrics":
        return cls(failed=reason, failed_kind=kind, epochs_run=epochs_run)

    def to_json_dict(self) -> dict[str, Any]:
        """The keys `metrics.json` has always had: the figures, or for a failed run only
        `failed`, `failed_kind` and `epochs_run`."""
        if self.failed is not None:
            return {"failed": self.failed, "failed_kind": self.failed_kind, "epochs_run": self.epochs_run}
        return self.model_dump(mode="json", exclude={"failed", "failed_kind"})


def history_to_json(history: list[EpochRecord]) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json") for entry in history]


# --- reading ---------------------------------------------------------------------------------------
def read_json(path: Path) -> Any:
    """The parsed JSON of a run file; `RunError` naming the file for anything unreadable."""
    data = read_regular_file(path, max_bytes=MAX_JSON_BYTES, error=RunError, what="a run file")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RunError(f"{printable_path(path)} is not text (not UTF-8)") from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        detail = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise RunError(f"{printable_path(path)} is not valid JSON ({detail})") from None


def parse_history(data: Any, path: Path) -> list[EpochRecord]:
    if not isinstance(data, list):
        raise RunError(f"{printable_path(path)} must hold a JSON list of epochs, not {json_kind(data)}")
    records = []
    for number, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise RunError(f"{printable_path(path)}: entry {number} is {json_kind(entry)}, not an epoch record")
        records.append(_validate(EpochRecord, entry, f"{printable_path(path)}: entry {number}"))
    return records


def parse_metrics(data: Any, path: Path) -> RunMetrics:
    if not isinstance(data, dict):
        raise RunError(f"{printable_path(path)} must hold a JSON object, not {json_kind(data)}")
    return _validate(RunMetrics, data, printable_path(path))


def _validate(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise RunError(f"{where}: {describe_validation_error(err)}") from None


def describe_validation_error(err: ValidationError) -> str:
    """The first problem pydantic found, as "field: what is wrong" on one line."""
    first = err.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "value"
    return f"{field}: {first['msg']}"[:300]


def json_kind(value: Any) -> str:
    """"null", "a list", "a string"...: what a JSON value is, for messages."""
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
