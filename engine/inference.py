"""Classify single images exactly the way the model's training data looked.

The preprocessing is decided once, from the training data (`PreprocessSpec.from_dataset`), and
saved with the model; the window, the CLI and evaluation all go through `preprocess`. Numeric
scaling lives inside the model itself (its first layers), so the spec only has to produce raw
pixels 0..255 of the right size, channel count and polarity.

Single images go through a compiled `tf.function` around the model's call, not `model.predict`,
which builds a dataset and an iterator per call and is far slower for one image.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import RunError
from engine.images import border_colour, open_image, reduce_to_side, to_array

ImageSource = str | Path | bytes | Image.Image

MAX_SIDE = 8192
# Images are first reduced (box filter, whole factors) until their longest side is at most this
# many times the network's input side, and never below `MIN_WORKING_SIDE`: enough detail for
# cropping to strokes and for a good resize, with memory bounded whatever the file holds.
WORKING_FACTOR = 8
MIN_WORKING_SIDE = 1024


class PreprocessSpec(BaseModel):
    """What must happen to any image before this model sees it (saved as `preprocess.json`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    height: int = Field(ge=1, le=MAX_SIDE)
    width: int = Field(ge=1, le=MAX_SIDE)
    channels: Literal[1, 3]
    polarity: Literal["light_on_dark", "dark_on_light", "natural"] = "natural"  # light_on_dark: strokes brighter than background
    pad_to_square: bool = True
    class_names: tuple[str, ...] = ()
    fit_content: bool = False             # crop to the strokes, as digit datasets are centred
    content_margin: float = Field(0.1, ge=0.0, lt=0.5)  # margin around the strokes, fraction of the side

    @classmethod
    def from_dataset(cls, dataset: Any) -> "PreprocessSpec":
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
        )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Any, where: str = "preprocess.json") -> "PreprocessSpec":
        """Validate a spec read back from `where`; missing or ill-typed fields are a `RunError`."""
        from engine.run_files import describe_validation_error, json_kind

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


def preprocess(source: ImageSource, spec: PreprocessSpec) -> np.ndarray:
    """Decode `source` and return what the network sees: float32 (H, W, C), values 0..255."""
    longest = max(spec.height, spec.width)
    image = open_image(source, draft_size=(longest * 4, longest * 4))
    image = reduce_to_side(image, max(MIN_WORKING_SIDE, WORKING_FACTOR * longest))
    image = image.convert("L" if spec.channels == 1 else "RGB")
    if spec.polarity == "light_on_dark":
        image = _light_strokes_on_dark(image)
        if spec.fit_content and max(image.size) > 2 * max(spec.height, spec.width):
            # A drawing or photo, not a sample already shaped like the training data.
            image = _crop_to_strokes(image, spec.content_margin)
    array = to_array(image, (spec.height, spec.width), spec.channels, pad_to_square=spec.pad_to_square)
    return array.astype(np.float32)


def _light_strokes_on_dark(image: Image.Image) -> Image.Image:
    """Invert a dark-ink-on-paper picture so it matches datasets of light strokes on black."""
    if border_colour(image.convert("L")) > 127:
        from PIL import ImageOps

        image = ImageOps.invert(image)
    return image


def _crop_to_strokes(image: Image.Image, margin: float) -> Image.Image:
    """Crop to the bright strokes, stretch their contrast and pad them into a centred square."""
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    low, high = np.percentile(gray, 5), gray.max()
    if high - low < 16:
        return image  # a blank image: nothing to centre
    ink = gray > low + 0.35 * (high - low)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    box = np.clip((box - low) / (high - low) * 255.0, 0, 255)
    side = max(box.shape)
    pad = int(round(side * margin / max(1e-6, 1 - 2 * margin)))
    canvas = np.zeros((side + 2 * pad, side + 2 * pad), np.float32)
    top = pad + (side - box.shape[0]) // 2
    left = pad + (side - box.shape[1]) // 2
    canvas[top : top + box.shape[0], left : left + box.shape[1]] = box
    result = Image.fromarray(canvas.astype(np.uint8), "L")
    return result if image.mode == "L" else result.convert(image.mode)


@dataclass
class Prediction:
    source: str
    top: list[tuple[str, float]]
    input: np.ndarray                     # float32 (H, W, C) 0..255: what the network saw
    probabilities: np.ndarray | None = None


class Classifier:
    """A model plus the preprocessing it was trained with."""

    def __init__(self, model: Any, spec: PreprocessSpec, class_names: Sequence[str] | None = None) -> None:
        import tensorflow as tf

        from engine.model_files import check_model_matches

        self.model = model
        self.spec = spec
        self.class_names = list(class_names or spec.class_names)
        check_model_matches(model, spec, self.class_names)
        signature = [tf.TensorSpec((None, spec.height, spec.width, spec.channels), tf.float32)]
        self._forward = _frozen_forward(tf.function(lambda x: model(x, training=False), input_signature=signature))

    @classmethod
    def from_run(cls, path: str | Path) -> "Classifier":
        """A run folder or a `.keras` file that sits in one (checked, then loaded in safe mode)."""
        from engine.files import printable_path
        from engine.model_files import check_model_matches, load_model_file

        run, model_path = resolve_run(path)
        model = load_model_file(model_path)
        check_model_matches(model, run.preprocess, run.class_names, where=printable_path(model_path))
        return cls(model, run.preprocess)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Softmax outputs for a float32 batch (N, H, W, C) of raw pixels."""
        import tensorflow as tf

        return np.asarray(self._forward(tf.constant(batch, tf.float32)), dtype=np.float64)

    def classify(self, source: ImageSource, top_k: int = 3) -> Prediction:
        array = preprocess(source, self.spec)
        probs = self.probabilities(array[None])[0]
        return Prediction(_describe(source), self.top(probs, top_k), array, probs)

    def top(self, probs: np.ndarray, k: int) -> list[tuple[str, float]]:
        order = np.argsort(probs)[::-1][: max(1, k)]
        return [(self._label(i), float(probs[i])) for i in order]

    def _label(self, index: int) -> str:
        return self.class_names[index] if index < len(self.class_names) else str(index)


def resolve_run(path: str | Path) -> tuple[Any, Path]:
    """(run, model file) for a run folder or a `.keras` file inside one: the run's files
    validated and the model archive checked (`engine.model_files.check_keras_archive`), all
    without TensorFlow, so a front end can refuse a broken run before starting it."""
    from engine.files import printable_path
    from engine.model_files import check_keras_archive
    from engine.runs import MODEL, load_run

    path = Path(path).expanduser()
    run_dir = path.parent if path.suffix == ".keras" else path
    run = load_run(run_dir)
    if run.preprocess is None:
        raise RunError(f"{printable_path(run_dir)} has no preprocess.json: cannot know how to prepare images for it")
    model_path = path if path.suffix == ".keras" else run_dir / MODEL
    check_keras_archive(model_path)
    return run, model_path


def _frozen_forward(function: Any) -> Any:
    """The model's graph with its weights turned into constants, when TensorFlow can do it.

    Constant weights let TensorFlow's graph optimiser fold batch normalisation into the
    convolutions before it and fuse activations: about 1.5× faster on the CPU for MobileNetV2.
    The weights are those of the moment the classifier is made (a classifier is made per model).
    """
    concrete = function.get_concrete_function()
    try:
        from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

        frozen = convert_variables_to_constants_v2(concrete)
    except Exception:  # an op that cannot be frozen, or a TensorFlow without this helper
        return concrete
    return lambda x: frozen(x)[0]


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, bytes):
        return "<bytes>"
    return getattr(source, "filename", "") or "<image>"
