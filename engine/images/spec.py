"""The preprocessing spec: what must happen to any image before a model sees it.

It is decided once, from the training data (`PreprocessSpec.from_dataset`), saved with the model
as `preprocess.json`, and followed by training, evaluation, the CLI and every dropped image
(`engine.images.prepare`). Numeric scaling lives inside the model itself (its first layers), so
the spec only has to produce raw pixels 0..255 of the right size, channel count and polarity.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.errors import RunError, describe_validation_error, json_kind
from engine.images.decode import DEFAULT_RESAMPLE, LEGACY_RESAMPLE, Resample

MAX_SIDE = 8192


class PreprocessSpec(BaseModel):
    """What must happen to any image before this model sees it (saved as `preprocess.json`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    height: int = Field(ge=1, le=MAX_SIDE)
    width: int = Field(ge=1, le=MAX_SIDE)
    channels: Literal[1, 3]
    polarity: Literal["light_on_dark", "dark_on_light", "natural"] = (
        "natural"  # light_on_dark: strokes brighter than background
    )
    pad_to_square: bool = True
    class_names: tuple[str, ...] = ()
    fit_content: bool = False  # crop to the strokes, as digit datasets are centred
    content_margin: float = Field(0.1, ge=0.0, lt=0.5)  # margin around the strokes, fraction of the side
    # The side of the box the strokes' longer side fills, as a fraction of the image side (MNIST:
    # 20/28); measured on the training data. None (runs made before it existed): 1 - 2 * margin.
    stroke_box: float | None = Field(None, gt=0.0, le=1.0)
    # How images are shrunk to the input (`engine.images.decode.RESAMPLE_RULES`): the rule the training
    # images were shrunk by. Absent (runs made before it was recorded): "lanczos".
    resample: Resample = LEGACY_RESAMPLE

    @classmethod
    def from_dataset(cls, dataset: Any) -> PreprocessSpec:
        height, width, channels = dataset.input_shape
        strokes = dataset.polarity == "light_on_dark"
        return cls(
            height=int(height),
            width=int(width),
            channels=int(channels),
            polarity=dataset.polarity,
            class_names=tuple(dataset.class_names),
            fit_content=strokes,
            content_margin=_stroke_margin(dataset) if strokes else 0.0,
            stroke_box=_stroke_box(dataset) if strokes else None,
            resample=getattr(dataset, "resample", DEFAULT_RESAMPLE),
        )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any, where: str = "preprocess.json") -> PreprocessSpec:
        """Validate a spec read back from `where`; missing or ill-typed fields are a `RunError`."""
        if not isinstance(data, dict):
            raise RunError(f"{where} must hold a JSON object, not {json_kind(data)}")
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise RunError(f"{where}: {describe_validation_error(err)}") from None


def _stroke_margin(dataset: Any) -> float:
    """How much empty border the training images keep around their strokes (median over samples)."""
    sample = dataset.x_train[:200, ..., 0].astype(np.float32)
    side = sample.shape[1]
    margins = []
    for image in sample:
        rows = np.flatnonzero(image.max(axis=1) > 64)
        cols = np.flatnonzero(image.max(axis=0) > 64)
        if rows.size and cols.size:
            margins.append(min(rows[0], cols[0], side - 1 - rows[-1], side - 1 - cols[-1]) / side)
    return float(np.median(margins)) if margins else 0.1


def _stroke_box(dataset: Any) -> float:
    """How much of the side the strokes' bounding box fills along its longer side (median over
    samples): 20/28 for MNIST, nearly all of it for scikit-learn's 8×8 digits."""
    sample = dataset.x_train[:200, ..., 0]
    sizes = []
    for image in sample:
        rows = np.flatnonzero(image.max(axis=1) > 64)
        cols = np.flatnonzero(image.max(axis=0) > 64)
        if rows.size and cols.size:
            sizes.append(max((rows[-1] - rows[0] + 1) / image.shape[0], (cols[-1] - cols[0] + 1) / image.shape[1]))
    return float(np.clip(np.median(sizes), 0.05, 1.0)) if sizes else 0.8
