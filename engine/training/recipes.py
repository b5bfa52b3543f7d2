"""Training recipes: the same architecture, trained the textbook way or the fast way.

The textbook recipe is the settings as they are: what a lesson sets up is what its tutorial did
(RMSprop or Adam at a fixed small rate, batch 32-256, 10-25 epochs). The fast recipe keeps the
architecture (the lesson's point) and changes how it is trained, with the tricks of the
speed-run trainers (airbench, hlb-CIFAR10):

- a schedule moving every batch: one-cycle (up to the peak over 30 % of the run, then down to
  nearly nothing) or, where the network learns little in its first epoch, cosine (the peak at once,
  then down to nothing); for bn_cnn, whose textbook rate was already the best measured, none; Adam at
  a peak rate per preset (`FAST[preset].peak_rate`, measured with
  short runs on validation splits of seeds the benchmark does not use);
- larger batches (fewer, cheaper steps on a CPU);
- a fraction of the textbook's epochs (at least `min_epochs`);
- label smoothing 0.1 (not for cifar_cnn: measured to hold it near chance for ten epochs);
- cheap augmentation: the flips that keep the data's classes (none for digits, which mirror into
  other digits), unless augmentation is already on;
- test-time augmentation at evaluation: the final figures average each image with its mirror
  images (when there are flips);
- several batches per call into TensorFlow (`steps_per_execution`) for the small presets.

Pure config work (cheap): `apply_recipe` gives the config a recipe fills, `recipe_changes` what it
changed, so the CLI's `--recipe fast` and the window's "Fast" choice do the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.config import RECIPES, ExperimentConfig
from engine.core.errors import ConfigError

LABEL_SMOOTHING = 0.1


@dataclass(frozen=True)
class FastSettings:
    """One preset's fast recipe: the schedule and its peak rate, the batch, the share of the
    textbook's epochs kept (at least `min_epochs`), and batches per call into TensorFlow."""

    schedule: str
    peak_rate: float
    batch_size: int
    epoch_share: float
    min_epochs: int
    label_smoothing: float = LABEL_SMOOTHING
    steps_per_execution: int = 1  # more costs a second trace of the loop: slower on short CPU runs


#: The presets built from scratch that have a fast recipe (measured: docs/benchmarks.md).
FAST: dict[str, FastSettings] = {
    "mlp": FastSettings("one_cycle", peak_rate=0.004, batch_size=128, epoch_share=0.3, min_epochs=3),
    "naive_cnn": FastSettings("one_cycle", peak_rate=0.02, batch_size=128, epoch_share=0.7, min_epochs=3),
    # The ablation measured the cosine from 0.002 costing bn_cnn 12 points in five epochs: Adam's 0.001 held.
    "bn_cnn": FastSettings("constant", peak_rate=0.001, batch_size=64, epoch_share=0.5, min_epochs=3),
    # ...and label smoothing keeping cifar_cnn near chance for ten epochs (0.52 against 0.99 without).
    "cifar_cnn": FastSettings(
        "cosine", peak_rate=0.001, batch_size=64, epoch_share=0.4, min_epochs=4, label_smoothing=0.0
    ),
    "vgg16": FastSettings("cosine", peak_rate=0.0005, batch_size=64, epoch_share=0.4, min_epochs=3),
}

#: Flips that keep each dataset's classes (a mirrored digit is another digit, or none).
_FLIPS = {"digits": "none", "mnist": "none", "shapes": "both", "npz": "none"}
_DEFAULT_FLIP = "horizontal"  # photographs: cifar10, cifar100, fashion_mnist, class folders


def fast_presets() -> list[str]:
    return list(FAST)


def data_flip(data_name: str) -> str:
    """The random flip the fast recipe uses on the data `data_name`."""
    kind = data_name.partition(":")[0]
    return _FLIPS.get(kind, _DEFAULT_FLIP)


def apply_recipe(config: ExperimentConfig, recipe: str) -> ExperimentConfig:
    """`config` trained by `recipe`: "textbook" leaves the settings as they are; "fast" fills the
    training settings of its architecture's fast recipe (`ConfigError` for an architecture that
    has none: the ImageNet backbones, CapsNet, the autoencoders)."""
    if recipe not in RECIPES:
        raise ConfigError(f"no recipe named {recipe!r} (recipes: {', '.join(RECIPES)})")
    if recipe == "textbook":
        return config.updated(**{"training.recipe": "textbook"})
    return config.updated(**recipe_changes(config))


def recipe_changes(config: ExperimentConfig) -> dict[str, Any]:
    """The settings (dotted keys) the fast recipe gives `config`, all of them, changed or not."""
    fast = FAST.get(config.arch.name)
    if fast is None or config.task != "classification":
        raise ConfigError(
            f"the fast recipe is for the classifiers built from scratch ({', '.join(FAST)}), not {config.arch.name}"
        )
    t = config.training
    epochs = max(fast.min_epochs, math.ceil(t.epochs * fast.epoch_share))
    changes: dict[str, Any] = {
        "training.recipe": "fast",
        "training.optimizer": "adam",
        "training.learning_rate": fast.peak_rate,
        "training.batch_size": fast.batch_size,
        "training.epochs": epochs,
        "training.schedule": fast.schedule,
        "training.schedule_per": "batch",
        "training.warmup_epochs": 0,
        "training.label_smoothing": fast.label_smoothing,
        "training.steps_per_execution": fast.steps_per_execution,
    }
    flip = config.augmentation.flip
    if not config.augmentation.enabled:
        flip = data_flip(config.data.name)
        changes["augmentation.flip"] = flip
    changes["training.tta"] = flip != "none"
    return changes


def describe_changes(before: ExperimentConfig, after: ExperimentConfig) -> list[str]:
    """What a recipe changed, one short phrase per setting ("batch 64 → 128"), for the window and
    the CLI to say."""
    old, new = before.to_dict(), after.to_dict()
    phrases = []
    for section, key, name in _DESCRIBED:
        a, b = old[section].get(key), new[section].get(key)
        if a != b:
            phrases.append(f"{name} {_text(a)} → {_text(b)}")
    return phrases


_DESCRIBED = (
    ("training", "optimizer", "optimizer"),
    ("training", "learning_rate", "learning rate"),
    ("training", "schedule", "schedule"),
    ("training", "schedule_per", "schedule moves every"),
    ("training", "warmup_epochs", "warm-up"),
    ("training", "batch_size", "batch"),
    ("training", "epochs", "epochs"),
    ("training", "label_smoothing", "label smoothing"),
    ("augmentation", "flip", "flips"),
    ("training", "tta", "test-time augmentation"),
    ("training", "steps_per_execution", "batches per call"),
)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", "-")
