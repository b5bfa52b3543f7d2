"""A config as the flat settings an experiment compares and varies: `"arch.dropout": 0.5`.

`compare` lists the settings that differ between runs, a grid varies some of them, and both use
the same dotted keys and the same values, so a grid's factor reads like a comparison's column.
The keys are the config's leaf fields (`training.learning_rate`, `freeze_all_but`, ...), with
two changes that make them read as a lesson does:

- `arch.dropout` is the dropout *rate in force*: 0 when dropout is off, else `arch.dropout_rate`
  (which then is not listed apart): "dropout 0 against 0.5" is one setting, not two fields.
- `augmentation` (grids only) switches the whole augmentation on or off: on is the base
  config's augmentation when it has one, else `DEFAULT_AUGMENTATION` (no flips: safe for digits).
- `training.recipe` "fast" fills the training settings with the architecture's fast recipe
  (engine.training.recipes), so `--vary training.recipe=textbook,fast` compares the two ways of
  training the same network; the other settings of the combination still win.

Cheap: nothing here imports TensorFlow.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import PurePath
from typing import Annotated, Any, get_args

from pydantic import TypeAdapter, ValidationError

from engine.architectures import get_architecture, list_architectures
from engine.config import ArchOptions, Augmentation, DataOptions, ExperimentConfig, TrainingOptions
from engine.core.errors import ArchitectureError, ConfigError
from engine.training.recipes import apply_recipe

DROPOUT = "arch.dropout"
AUGMENTATION = "augmentation"
DEFAULT_AUGMENTATION = Augmentation(rotation=0.05, zoom=0.1, translation=0.1)
SECTIONS = {"data": DataOptions, "arch": ArchOptions, "augmentation": Augmentation, "training": TrainingOptions}
_NOT_VARIED = ("schema_version", "layer_trainable")

# Short names for labels ("dropout 0.5 · bn off"); "" shows the value alone ("mlp", "adam").
SHORT_NAMES = {
    "data.name": "",
    "arch.name": "",
    "arch.activation": "",
    "training.optimizer": "",
    "arch.dropout": "dropout",
    "arch.batchnorm": "bn",
    "training.learning_rate": "lr",
    "training.batch_size": "batch",
    "training.seed": "seed",
    "training.epochs": "epochs",
    "data.image_size": "size",
    "data.val_split": "val split",
    "data.test_split": "test split",
    "data.validation": "validate on",
    "freeze_all_but": "train last",
    "augmentation": "aug",
    "training.recipe": "",
    "arch.head_units": "head",
    "arch.freeze_base": "frozen base",
    "arch.fine_tune_last": "fine-tune last",
}


# --- a config as settings --------------------------------------------------------------------------
def effective_settings(config: ExperimentConfig) -> dict[str, Any]:
    """Every setting of `config` as dotted key -> JSON value, in the config's field order
    (per-layer overrides as `layer_trainable.<layer>`)."""
    flat: dict[str, Any] = {}
    data = config.to_dict()
    data.pop("schema_version", None)
    data.pop("parent", None)  # provenance (a fork's parent run), not a setting to compare or vary
    data.pop("lesson", None)  # provenance too (the lesson a run was made for)
    _flatten(data, "", flat)
    rate = flat.pop("arch.dropout_rate")
    flat[DROPOUT] = rate if flat[DROPOUT] else 0.0  # same place in the order: the key already exists
    return flat


def _flatten(value: Any, prefix: str, into: dict[str, Any]) -> None:
    if isinstance(value, dict) and (value or not prefix):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}{key}.", into)
    elif not isinstance(value, dict):
        into[prefix[:-1]] = value


@lru_cache(maxsize=1)
def setting_keys() -> tuple[str, ...]:
    """The keys a grid can vary: every leaf setting of a config, and `augmentation`."""
    keys = [k for k in effective_settings(ExperimentConfig()) if k.split(".")[0] not in _NOT_VARIED]
    return (*keys, AUGMENTATION)


# --- values ------------------------------------------------------------------------------------
def coerce_value(key: str, value: Any) -> Any:
    """`value` (text from a command line, or a JSON value) as the setting `key` holds it: "on"
    and "off" for switches, numbers for numeric fields, None for "none" where None is allowed.
    Raises `ConfigError` (one line) for an unknown key or a value the field refuses."""
    if key not in setting_keys():
        raise ConfigError(f"unknown setting {key!r}; settings that can vary: {', '.join(setting_keys())}")
    try:
        if key == AUGMENTATION:
            coerced = TypeAdapter(bool).validate_python(value)
        elif key == DROPOUT:
            coerced = _dropout_value(value)
        else:
            coerced = _field_value(key, value)
    except ValidationError as err:
        raise ConfigError(f"{key}={_text(value)}: {err.errors()[0]['msg']}") from None
    try:
        apply_settings(ExperimentConfig(), {key: coerced})  # the config's own checks (names, combinations)
    except ConfigError as err:
        raise ConfigError(f"{key}={_text(value)}: {err}") from None
    return coerced


def _dropout_value(value: Any) -> float | bool:
    """A rate (0 is off), or on/off (on keeps the base's rate)."""
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("on", "off", "true", "false")):
        return TypeAdapter(bool).validate_python(value)
    rate = ArchOptions.model_fields["dropout_rate"]
    return TypeAdapter(Annotated[(float, *rate.metadata)]).validate_python(value)


def _field_value(key: str, value: Any) -> Any:
    field = _field_of(key)
    if (
        isinstance(value, str)
        and value.strip().lower() in ("none", "null")
        and type(None) in get_args(field.annotation)
    ):
        return None
    annotation = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
    return TypeAdapter(annotation).validate_python(value.strip() if isinstance(value, str) else value)


def _field_of(key: str) -> Any:
    section, _, name = key.partition(".")
    if name:
        return SECTIONS[section].model_fields[name]
    return ExperimentConfig.model_fields[section]


def apply_settings(base: ExperimentConfig, settings: dict[str, Any]) -> ExperimentConfig:
    """`base` with `settings` (coerced values) applied.

    A setting of `arch.name` first puts the options that presets choose (bn_cnn's batchnorm) back
    to the config's defaults, then applies the new preset's own, as picking a preset does in the
    window and on the command line; the other settings come after, so they still win
    (`arch.name=naive_cnn,bn_cnn` compares the two presets as designed).
    """
    changes: dict[str, Any] = {}
    if "arch.name" in settings:
        changes.update(_preset_changes(settings["arch.name"]))
    for key, value in settings.items():
        if key == DROPOUT:
            changes.update(_dropout_changes(value))
        elif key == AUGMENTATION:
            augmentation = (
                (base.augmentation if base.augmentation.enabled else DEFAULT_AUGMENTATION) if value else Augmentation()
            )
            changes[AUGMENTATION] = augmentation.model_dump()
        elif key not in ("arch.name", "training.recipe"):
            changes[key] = value
    if settings.get("training.recipe") == "fast":
        first = {k: v for k, v in changes.items() if k.startswith("arch.") or k.startswith("data.")}
        return apply_recipe(base.updated(**first), "fast").updated(**changes)
    if "training.recipe" in settings:
        changes["training.recipe"] = settings["training.recipe"]
    return base.updated(**changes)


def _preset_changes(arch_name: str) -> dict[str, Any]:

    try:
        preset = get_architecture(arch_name).defaults
    except ArchitectureError as err:
        raise ConfigError(str(err)) from None
    chosen_by_presets = {key for info in list_architectures() for key in info.defaults}
    reset = {f"arch.{key}": ArchOptions.model_fields[key].default for key in sorted(chosen_by_presets)}
    return reset | {f"arch.{key}": value for key, value in preset.items()} | {"arch.name": arch_name}


def _dropout_changes(value: float | bool) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"arch.dropout": value}
    return {"arch.dropout": value > 0} | ({"arch.dropout_rate": value} if value > 0 else {})


# --- labels --------------------------------------------------------------------------------------
def describe(key: str, value: Any) -> str:
    """One setting in a few words: "dropout 0.5", "bn off", "lr 0.001", "mlp"."""
    name = SHORT_NAMES.get(key, key.rsplit(".", 1)[-1].replace("_", " "))
    if key.startswith("layer_trainable."):
        return f"{key.split('.', 1)[1]} {'default' if value is None else 'trainable' if value else 'frozen'}"
    shown = format_value(key, value)
    return f"{name} {shown}" if name else shown


def format_value(key: str, value: Any) -> str:
    """A setting's value in a few words: "off" for no dropout, "on"/"off" for switches, "0.5"."""
    if key == DROPOUT and not value:
        return "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if key == "data.name" and isinstance(value, str) and ":" in value:
        kind, _, path = value.partition(":")
        return f"{kind}:{PurePath(path).name or path}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def is_neutral_augmentation(value: Any) -> bool:
    """An augmentation field at its "does nothing" value (no flip, 0)."""
    return value in ("none", 0, 0.0, None, False)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
