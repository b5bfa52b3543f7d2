"""The architecture registry: names, descriptions and sizes, cheap to import.

The window lists architectures before TensorFlow has started, so this module imports neither
TensorFlow nor Keras. Each entry names the module holding its builder; the module is imported on
the first `build_model`, and its builders register themselves with the `builder` decorator.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.core.errors import ArchitectureError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import keras

    from engine.config import ArchOptions

Kind = Literal["scratch", "backbone", "autoencoder"]
Loss = Literal["crossentropy", "margin", "reconstruction"]

# A dense kernel above this many weights (about 800 MB in float32) is refused before it is
# allocated: it would exhaust memory and is never what a learner meant.
MAX_DENSE_WEIGHTS = 200_000_000


@dataclass(frozen=True)
class ArchInfo:
    """What a front end shows about an architecture before building it.

    `defaults` are option values the preset was designed with (e.g. bn_cnn's batch
    normalisation); a front end may apply them when the user picks the preset. `loss` is what
    the model is trained with: "crossentropy" (a softmax classifier), "margin" (CapsNet: its
    outputs are capsule lengths, see engine.architectures.outputs) or "reconstruction" (an autoencoder:
    mean squared error against the clean image, engine.training.tasks).
    """

    name: str
    description: str
    kind: Kind
    default_image_size: int | None
    min_image_size: int
    defaults: dict[str, Any] = field(default_factory=dict)
    loss: Loss = "crossentropy"

    @property
    def task(self) -> str:
        """ "autoencoder" for the autoencoder presets, else "classification"."""
        return "autoencoder" if self.kind == "autoencoder" else "classification"


@dataclass(frozen=True)
class _Entry:
    info: ArchInfo
    module: str  # where the builder lives (imported lazily, it imports Keras)


Builder = Callable[..., "keras.Model"]

_ENTRIES: dict[str, _Entry] = {}
_BUILDERS: dict[str, Builder] = {}


def declare(info: ArchInfo, module: str) -> None:
    """Add an architecture to the (cheap) list; its builder is found in `module` later."""
    _ENTRIES[info.name] = _Entry(info, module)


def builder(name: str) -> Callable[[Builder], Builder]:
    """Decorator registering the function that builds the architecture `name`."""

    def register(fn: Builder) -> Builder:
        if name not in _ENTRIES:
            raise KeyError(f"architecture {name!r} is not declared in engine.architectures")
        _BUILDERS[name] = fn
        return fn

    return register


def list_architectures(task: str | None = "classification") -> list[ArchInfo]:
    """The architectures for `task` ("classification": scratch presets first, then backbones;
    "autoencoder"; None: all, autoencoders last), each group in declaration order."""
    infos = [e.info for e in _ENTRIES.values()]
    ordered = [i for kind in ("scratch", "backbone", "autoencoder") for i in infos if i.kind == kind]
    return [i for i in ordered if task is None or i.task == task]


def frozen_random_base(config: Any) -> str:
    """Why `config` (an ExperimentConfig) would train its head on a frozen base of random weights,
    in one line ("" when it does not): a backbone with weights "none", its base frozen and nothing
    of it fine-tuned gives the head random features, so the model stays at chance level however
    long it trains. Front ends unfreeze the base (or refuse) and say this."""
    try:
        info = get_architecture(config.arch.name)
    except ArchitectureError:
        return ""
    arch = config.arch
    if info.kind != "backbone" or arch.weights != "none" or not arch.freeze_base or arch.fine_tune_last:
        return ""
    if getattr(config, "init_from", None):  # weights from a run: the base is not random
        return ""
    return (
        "a frozen base with random weights (weights: none) gives the head random features: it cannot learn "
        "beyond chance. Unfreeze the base, or start from ImageNet weights"
    )


def get_architecture(name: str) -> ArchInfo:
    """The `ArchInfo` of `name`; `ArchitectureError` when there is no such architecture."""
    try:
        return _ENTRIES[name].info
    except KeyError:
        known = ", ".join(_ENTRIES)
        raise ArchitectureError(f"unknown architecture {name!r} (known: {known})") from None


def _validate_input(name: str, input_shape: tuple[int, int, int], num_classes: int) -> tuple[int, int, int]:
    try:
        h, w, c = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ArchitectureError(f"input shape must be (height, width, channels), got {input_shape!r}") from None
    if h < 1 or w < 1:
        raise ArchitectureError(f"input shape {h}×{w}×{c} has an empty side")
    if c not in (1, 3):
        raise ArchitectureError(f"{name} needs grayscale (1) or colour (3) images, got {c} channels")
    if int(num_classes) < 2:
        raise ArchitectureError(f"a classifier needs at least 2 classes, got {num_classes}")
    return h, w, c


def build_model(arch: ArchOptions, input_shape: tuple[int, int, int], num_classes: int) -> keras.Model:
    """Build the architecture named by `arch.name` for `input_shape` images and `num_classes`.

    The model takes float32 pixels in 0..255 and outputs float32 softmax probabilities.
    Options of `arch` that a builder does not take (e.g. `weights` for a scratch preset) are
    ignored. Raises `ArchitectureError` for an unknown name or an input it cannot handle.
    """
    info = get_architecture(arch.name)
    shape = _validate_input(arch.name, input_shape, num_classes)
    if arch.name not in _BUILDERS:
        importlib.import_module(_ENTRIES[arch.name].module)
    fn = _BUILDERS[arch.name]
    accepted = inspect.signature(fn).parameters
    options = {k: v for k, v in arch.model_dump().items() if k in accepted and k != "name"}
    try:
        return fn(shape, int(num_classes), **options)
    except ArchitectureError:
        raise
    except ValueError as err:  # Keras' own refusal: make it one readable line
        text = " ".join(str(err).split())
        h, w, c = shape
        raise ArchitectureError(f"cannot build {info.name} for {h}×{w}×{c} images: {text}") from None
