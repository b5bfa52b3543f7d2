"""Classify single images exactly the way the model's training data looked.

The preprocessing is decided once, from the training data (`PreprocessSpec.from_dataset`), and
saved with the model; the window, the CLI and evaluation all go through `preprocess`. Numeric
scaling lives inside the model itself (its first layers), so the spec only has to produce raw
pixels 0..255 of the right size, channel count and polarity.

Single images go through a compiled `tf.function` around the model's call, not `model.predict`,
which builds a dataset and an iterator per call and is far slower for one image. The same pass
gives the penultimate features, which the run's out-of-distribution model (`ood.npz`, see
`engine.insight.ood`) scores: a prediction says whether the image looks like the training data.

A drawing or photo of a digit for a light-strokes-on-dark model is prepared the way MNIST was
made: strokes cropped, scaled anti-aliased to fit a box keeping their aspect (20 px of 28 for
MNIST; each dataset's own share of its side, `PreprocessSpec.stroke_box`), and centred by their
centre of mass. `prepare` also says where the network's input lies on the original image
(`Placement`), so explanations can be drawn back onto it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.class_outputs import normalise_lengths
from engine.errors import RunError
from engine.images import (DEFAULT_RESAMPLE, LEGACY_RESAMPLE, Resample, border_colour, open_for_network, open_image,
                           reduce_to_side, to_array)

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
    # The side of the box the strokes' longer side fills, as a fraction of the image side (MNIST:
    # 20/28); measured on the training data. None (runs made before it existed): 1 - 2 * margin.
    stroke_box: float | None = Field(None, gt=0.0, le=1.0)
    # How images are shrunk to the input (`engine.images.RESAMPLE_RULES`): the rule the training
    # images were shrunk by. Absent (runs made before it was recorded): "lanczos".
    resample: Resample = LEGACY_RESAMPLE

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
            stroke_box=_stroke_box(dataset) if strokes else None,
            resample=getattr(dataset, "resample", DEFAULT_RESAMPLE),
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


@dataclass(frozen=True)
class Placement:
    """Where the network's input lies on the original image, in fractions of the original's
    height and width: the input's top-left corner is at (`top`, `left`) and it spans `height` ×
    `width` (more than 1 where preprocessing padded the image, less where it cropped)."""

    top: float = 0.0
    left: float = 0.0
    height: float = 1.0
    width: float = 1.0

    def __post_init__(self) -> None:   # plain floats (NumPy scalars would leak into JSON and reprs)
        for name in ("top", "left", "height", "width"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def to_original(self, y: float, x: float) -> tuple[float, float]:
        """A point given as fractions of the network input → fractions of the original image."""
        return self.top + y * self.height, self.left + x * self.width

    def within(self, inner: "Placement") -> "Placement":
        """`inner` is given in fractions of the image this placement is relative to: compose."""
        return Placement(self.top + inner.top * self.height, self.left + inner.left * self.width,
                         inner.height * self.height, inner.width * self.width)


@dataclass(frozen=True)
class Prepared:
    array: np.ndarray                     # float32 (H, W, C) 0..255: what the network sees
    placement: Placement                  # where that lies on the original image
    original: Image.Image                 # the decoded image, "L" or "RGB" (reduced when huge)


def preprocess(source: ImageSource, spec: PreprocessSpec) -> np.ndarray:
    """Decode `source` and return what the network sees: float32 (H, W, C), values 0..255."""
    return prepare(source, spec).array


def prepare(source: ImageSource, spec: PreprocessSpec) -> Prepared:
    """`preprocess`, also saying where the result lies on the original image."""
    longest = max(spec.height, spec.width)
    original = open_image(source, draft_size=(longest * 4, longest * 4))
    original = reduce_to_side(original, max(MIN_WORKING_SIDE, WORKING_FACTOR * longest))
    image = original.convert("L" if spec.channels == 1 else "RGB")
    placement = Placement()
    if spec.polarity == "light_on_dark":
        image = _light_strokes_on_dark(image)
        if spec.fit_content and max(image.size) > 2 * longest:
            # A drawing or photo, not a sample already shaped like the training data.
            box = spec.stroke_box if spec.stroke_box is not None else 1.0 - 2.0 * spec.content_margin
            image, placement = _fit_strokes(image, box, (spec.height, spec.width))
    placement = placement.within(_pad_placement(image.size, (spec.height, spec.width), spec.pad_to_square))
    if _decoded_as_in_training(source, spec):
        # The file again, decoded as a class folder's training images were (`decode_file`): the
        # same pixels for the same file, whatever its size (the working image above is for showing).
        image = open_for_network(source, longest, spec.resample)
    array = to_array(image, (spec.height, spec.width), spec.channels, pad_to_square=spec.pad_to_square,
                     resample=spec.resample)
    return Prepared(array.astype(np.float32), placement, original)


def _decoded_as_in_training(source: ImageSource, spec: PreprocessSpec) -> bool:
    """Whether the network's input is decoded from the file by the training rule: a file (not an
    image already decoded), a natural picture at a square size, and a rule recorded with the run
    (runs made before it keep the inference decode they were tested with)."""
    return (spec.resample != LEGACY_RESAMPLE and spec.polarity != "light_on_dark" and spec.height == spec.width
            and not isinstance(source, Image.Image))


def _pad_placement(size: tuple[int, int], target: tuple[int, int], pad_to_square: bool) -> Placement:
    """Where `engine.images.to_array`'s output lies on its input (resize to fit, centred pad)."""
    width, height = size
    target_h, target_w = target
    if not pad_to_square or (width, height) == (target_w, target_h):
        return Placement()
    scale = min(target_w / width, target_h / height)
    fitted_w = min(target_w, max(1, round(width * scale)))
    fitted_h = min(target_h, max(1, round(height * scale)))
    left, top = (target_w - fitted_w) // 2, (target_h - fitted_h) // 2
    return Placement(-top / fitted_h, -left / fitted_w, target_h / fitted_h, target_w / fitted_w)


def _light_strokes_on_dark(image: Image.Image) -> Image.Image:
    """Invert a dark-ink-on-paper picture so it matches datasets of light strokes on black."""
    if border_colour(image.convert("L")) > 127:
        from PIL import ImageOps

        image = ImageOps.invert(image)
    return image


# The strokes are laid out at this many times the target's resolution, then averaged down: the
# centre of mass lands within a fraction of a pixel and the edges come out anti-aliased.
STROKE_OVERSAMPLING = 8


def _fit_strokes(image: Image.Image, box: float, target: tuple[int, int]) -> tuple[Image.Image, Placement]:
    """MNIST's recipe: crop to the bright strokes (contrast stretched), scale them to fit a
    `box`-sized square keeping their aspect, place them so their centre of mass is the image's
    centre, anti-alias down to `target` (height, width), brightest pixel at 255. Returns the
    image and where it lies on the input."""
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    low, high = float(np.percentile(gray, 5)), float(gray.max())
    if high - low < 16:
        return image, Placement()  # a blank image: nothing to centre
    ink = gray > low + 0.35 * (high - low)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = np.clip((gray[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1] - low) / (high - low) * 255.0, 0, 255)
    canvas_h, canvas_w = target[0] * STROKE_OVERSAMPLING, target[1] * STROKE_OVERSAMPLING
    scale = min(box * canvas_h / crop.shape[0], box * canvas_w / crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    strokes = np.asarray(Image.fromarray(crop.astype(np.uint8), "L").resize(size, Image.Resampling.LANCZOS), np.float32)
    top, left = _centre_of_mass_offset(strokes, canvas_h, canvas_w)
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    canvas[top: top + strokes.shape[0], left: left + strokes.shape[1]] = strokes
    small = np.asarray(Image.fromarray(canvas.astype(np.uint8), "L").resize((target[1], target[0]), Image.Resampling.BOX),
                       np.float32)
    # Thin strokes lose brightness when averaged down; training digits reach full white.
    small = Image.fromarray(np.clip(small * (255.0 / max(1.0, small.max())), 0, 255).round().astype(np.uint8), "L")
    # canvas pixel c ↔ image pixel rows[0] + (c - top) / scale (and the same across)
    placement = Placement((rows[0] - top / scale) / gray.shape[0], (cols[0] - left / scale) / gray.shape[1],
                          canvas_h / scale / gray.shape[0], canvas_w / scale / gray.shape[1])
    return (small if image.mode == "L" else small.convert(image.mode)), placement


def _centre_of_mass_offset(strokes: np.ndarray, canvas_h: int, canvas_w: int) -> tuple[int, int]:
    """Where to paste `strokes` so their centre of mass is the canvas centre (kept on the canvas)."""
    mass = strokes.sum()
    ys, xs = np.indices(strokes.shape, dtype=np.float64)
    cy = (ys * strokes).sum() / mass + 0.5 if mass > 0 else strokes.shape[0] / 2
    cx = (xs * strokes).sum() / mass + 0.5 if mass > 0 else strokes.shape[1] / 2
    top = int(np.clip(round(canvas_h / 2 - cy), 0, canvas_h - strokes.shape[0]))
    left = int(np.clip(round(canvas_w / 2 - cx), 0, canvas_w - strokes.shape[1]))
    return top, left


NOT_SURE = "not sure"
UNFAMILIAR = "unfamiliar — probably none of these classes"


@dataclass
class Prediction:
    source: str
    top: list[tuple[str, float]]
    input: np.ndarray                     # float32 (H, W, C) 0..255: what the network saw
    probabilities: np.ndarray | None = None
    familiar: bool | None = None          # looks like the training data (None: the run has no OOD model)
    ood_score: float | None = None        # distance to the training data; familiar when <= the model's threshold
    verdict: str = ""                     # the top label, NOT_SURE (below the threshold) or UNFAMILIAR
    placement: Placement | None = None    # where `input` lies on the original image
    lengths: np.ndarray | None = None     # CapsNet: the raw capsule lengths (`probabilities` are them normalised)


class Classifier:
    """A model plus the preprocessing it was trained with (and, for runs that have one, the
    out-of-distribution model that says whether an image looks like the training data)."""

    def __init__(self, model: Any, spec: PreprocessSpec, class_names: Sequence[str] | None = None,
                 ood: Any = None) -> None:
        import tensorflow as tf

        from engine.class_outputs import output_kind
        from engine.insight.features import feature_model
        from engine.model_files import check_model_matches

        self.model = model
        self.spec = spec
        self.class_names = list(class_names or spec.class_names)
        self.ood = ood                    # engine.insight.ood.OodModel or None
        check_model_matches(model, spec, self.class_names)
        # CapsNet outputs capsule lengths, not a softmax: they are normalised into probabilities
        # (engine.class_outputs); `Prediction.lengths` keeps them as the network gave them.
        self.output_kind = output_kind(model)
        dual = feature_model(model)       # one pass: [penultimate features, probabilities]
        signature = [tf.TensorSpec((None, spec.height, spec.width, spec.channels), tf.float32)]
        self._forward = _frozen_forward(tf.function(lambda x: dual(x, training=False), input_signature=signature))

    @classmethod
    def from_run(cls, path: str | Path) -> "Classifier":
        """A run folder or a `.keras` file that sits in one (checked, then loaded in safe mode),
        with the run's out-of-distribution model when it has one."""
        from engine.files import printable_path
        from engine.insight.ood import load_ood
        from engine.model_files import check_model_matches, load_model_file

        run, model_path = resolve_run(path)
        ood = load_ood(run.path)
        model = load_model_file(model_path)
        check_model_matches(model, run.preprocess, run.class_names, where=printable_path(model_path))
        return cls(model, run.preprocess, ood=ood)

    def predict(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(class probabilities (N, K), penultimate features (N, D)) for a float32 batch of raw
        pixels: the softmax, or CapsNet's capsule lengths normalised to sum to 1."""
        outputs, features = self._raw(batch)
        return self._as_probabilities(outputs), features

    def _raw(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the output layer's values (N, K), penultimate features (N, D))."""
        import tensorflow as tf

        features, outputs = self._forward(tf.constant(batch, tf.float32))
        return np.asarray(outputs, dtype=np.float64), np.asarray(features, np.float32).reshape(len(batch), -1)

    def _as_probabilities(self, outputs: np.ndarray) -> np.ndarray:
        return normalise_lengths(outputs) if self.output_kind == "capsule_lengths" else outputs

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Softmax outputs for a float32 batch (N, H, W, C) of raw pixels."""
        return self.predict(batch)[0]

    def features(self, batch: np.ndarray) -> np.ndarray:
        """Penultimate-layer features (N, D) for a float32 batch of raw pixels."""
        return self.predict(batch)[1]

    def classify(self, source: ImageSource, top_k: int = 3, threshold: float | None = None) -> Prediction:
        """Top-k answers for one image, whether it looks like the training data, and a verdict:
        UNFAMILIAR when it does not, NOT_SURE when the top probability is below `threshold`,
        else the top label."""
        prepared = prepare(source, self.spec)
        outputs, features = self._raw(prepared.array[None])
        probs = self._as_probabilities(outputs)[0]
        top = self.top(probs, top_k)
        familiar = score = None
        if self.ood is not None:
            score = float(self.ood.scores(features)[0])
            familiar = bool(score <= self.ood.threshold)
        lengths = outputs[0] if self.output_kind == "capsule_lengths" else None
        return Prediction(_describe(source), top, prepared.array, probs, familiar, score,
                          verdict(top[0], familiar, threshold), prepared.placement, lengths)

    def top(self, probs: np.ndarray, k: int) -> list[tuple[str, float]]:
        order = np.argsort(probs)[::-1][: max(1, k)]
        return [(self._label(i), float(probs[i])) for i in order]

    def _label(self, index: int) -> str:
        return self.class_names[index] if index < len(self.class_names) else str(index)


def verdict(best: tuple[str, float], familiar: bool | None, threshold: float | None) -> str:
    """What to tell the user: unfamiliar inputs first (a confident "7" for a bee is the failure
    this guards against), then answers below the user's confidence threshold."""
    if familiar is False:
        return UNFAMILIAR
    if threshold is not None and best[1] < threshold:
        return NOT_SURE
    return best[0]


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
        return lambda x: list(concrete(x))
    return lambda x: list(frozen(x))


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, bytes):
        return "<bytes>"
    return getattr(source, "filename", "") or "<image>"
