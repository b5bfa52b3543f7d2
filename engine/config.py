"""The experiment config: one validated, serialisable object holding every user choice.

The window writes user intent into it, the CLI builds it from flags, training reads only it, and
each run saves it as `config.json`. `SCHEMA_VERSION` is bumped when a field changes meaning;
`ExperimentConfig.from_json` upgrades older files.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.core.errors import ConfigError
from engine.images.decode import DEFAULT_RESAMPLE, LEGACY_RESAMPLE, Resample

SCHEMA_VERSION = 3

Activation = Literal["relu", "leaky_relu", "elu", "tanh", "sigmoid", "swish"]
ACTIVATIONS: tuple[str, ...] = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "swish")
Optimizer = Literal["rmsprop", "adam", "sgd"]
OPTIMIZERS: tuple[str, ...] = ("rmsprop", "adam", "sgd")
Schedule = Literal["constant", "step", "cosine", "one_cycle"]
SCHEDULES: tuple[str, ...] = ("constant", "step", "cosine", "one_cycle")
Recipe = Literal["textbook", "fast"]
RECIPES: tuple[str, ...] = ("textbook", "fast")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataOptions(_Model):
    """Which data, and how it is split and sized."""

    name: str = Field(
        "digits", description="digits, shapes, mnist, fashion_mnist, cifar10, cifar100, folder:PATH or npz:PATH"
    )
    val_split: float = Field(
        0.2, gt=0.0, lt=0.9, description="validation fraction when the source has no validation split"
    )
    image_size: int | None = Field(
        None,
        ge=8,
        le=1024,
        description="side of the square images for shapes/folder data; None: the source's or architecture's default",
    )
    limit: int | None = Field(
        None, ge=10, description="keep at most this many training samples (quick experiments, tests)"
    )
    test_split: float | None = Field(
        None,
        gt=0.0,
        lt=0.9,
        description="hold out this stratified fraction as a test set (data without a test split); None: the source's test split, if any",
    )
    validation: Literal["split", "test"] = Field(
        "split",
        description="split: validate on a fraction of the training data; test: validate on the test split (then no untouched test set is left)",
    )
    resample: Resample = Field(
        DEFAULT_RESAMPLE,
        description="how folder images are shrunk to image_size: bilinear (whole-factor reduce, then bilinear: ~2.5x faster to decode) or lanczos (a little sharper; configs of schema 1)",
    )


class ArchOptions(_Model):
    """Which architecture, and its toggles."""

    name: str = "mlp"
    dropout: bool = True
    dropout_rate: float = Field(0.5, ge=0.0, lt=1.0)
    batchnorm: bool = False
    activation: Activation = "relu"
    # Options of the ImageNet backbones (ignored by the presets built from scratch).
    weights: str = Field("imagenet", description="imagenet, none, or a path to a weights file")
    pooling: Literal["avg", "flatten"] = "avg"
    head_units: int = Field(256, ge=1, le=8192)
    freeze_base: bool = Field(True, description="backbones: freeze the whole convolutional base")
    fine_tune_last: int = Field(0, ge=0, description="backbones: then unfreeze the base's last N layers")
    # CapsNet and the autoencoders (ignored by the other presets).
    reconstruction: bool = Field(True, description="capsnet: the reconstruction decoder as a regulariser")
    noise: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="autoencoders: std of the Gaussian noise added to inputs (0..1 pixel scale); 0: not denoising",
    )
    latent_size: int = Field(32, ge=1, le=4096, description="dense_autoencoder: units of the code layer")


class Augmentation(_Model):
    """Random transformations of the training images (never of validation or test)."""

    flip: Literal["none", "horizontal", "vertical", "both"] = "none"
    rotation: float = Field(0.0, ge=0.0, le=0.5, description="fraction of a full turn")
    zoom: float = Field(0.0, ge=0.0, le=0.9)
    translation: float = Field(0.0, ge=0.0, le=0.5, description="fraction of the image size")
    contrast: float = Field(0.0, ge=0.0, le=0.9)

    @property
    def enabled(self) -> bool:
        return self.flip != "none" or any((self.rotation, self.zoom, self.translation, self.contrast))


class TrainingOptions(_Model):
    """How the model is trained: optimizer, rate and its schedule, batches, epochs and stages,
    early stopping, and the switches that trade speed for memory or repeatability."""

    optimizer: Optimizer = "adam"
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="sgd only")
    batch_size: int = Field(64, ge=1, le=65536)
    epochs: int = Field(10, ge=1, le=100000)
    seed: int = Field(0, ge=0)
    early_stopping: bool = False
    patience: int = Field(3, ge=1)
    # Staged fine-tuning: after `epochs`, unfreeze the last N layers and go on at a lower rate.
    stage2_epochs: int = Field(0, ge=0)
    stage2_unfreeze_last: int = Field(0, ge=0)
    stage2_lr_factor: float = Field(0.1, gt=0.0, le=1.0)
    # Learning-rate schedule, per epoch, within each stage (engine.training.schedules).
    schedule: Schedule = Field("constant", description="constant, step (decay), cosine or one_cycle")
    warmup_epochs: int = Field(0, ge=0, description="linear warm-up over the first N epochs of each stage")
    step_every: int = Field(10, ge=1, description="step schedule: multiply the rate by step_factor every N epochs")
    step_factor: float = Field(0.1, gt=0.0, le=1.0, description="step schedule: the factor")
    schedule_per: Literal["epoch", "batch"] = Field(
        "epoch", description="epoch: one rate per epoch; batch: the schedule moves on every batch (short runs)"
    )
    # How the loss and the evaluation see the data.
    label_smoothing: float = Field(
        0.0, ge=0.0, le=0.5, description="cross-entropy against targets moved this far towards uniform"
    )
    tta: bool = Field(
        False,
        description="final figures average the predictions of each image and its mirror images (the flips "
        "the augmentation uses)",
    )
    # When to stop, besides the planned epochs.
    target_accuracy: float | None = Field(
        None, gt=0.0, le=1.0, description="stop at the first epoch whose validation accuracy reaches this"
    )
    # Which recipe filled these settings (a record: the settings themselves are what trains).
    recipe: Recipe = Field("textbook", description="textbook or fast (engine.training.recipes)")
    # Speed.
    feature_cache: bool = Field(
        True, description="train only the head on cached features of a frozen, deterministic prefix"
    )
    mixed_precision: bool = False
    xla: bool = False
    steps_per_execution: int = Field(
        1, ge=1, le=1000, description="batches per call into TensorFlow: less Python per batch for small models"
    )
    deterministic: bool = Field(
        False, description="TensorFlow's op determinism: the same seed gives the same history, a little slower"
    )


class ParentRun(_Model):
    """Where a forked run started: the parent run's folder and the epoch (0-based) of its checkpoint."""

    run: str
    epoch: int = Field(ge=0)


class ExperimentConfig(_Model):
    """Everything needed to reproduce one training."""

    schema_version: int = SCHEMA_VERSION
    task: Literal["classification", "autoencoder"] = Field(
        "classification", description="autoencoder: learn to reconstruct the images (engine.training.tasks)"
    )
    data: DataOptions = Field(default_factory=DataOptions)
    arch: ArchOptions = Field(default_factory=ArchOptions)
    layer_trainable: dict[str, bool] = Field(default_factory=dict, description="per-layer overrides, by layer name")
    freeze_all_but: int | None = Field(None, ge=0, description="freeze every trainable layer but the last N")
    augmentation: Augmentation = Field(default_factory=Augmentation)
    training: TrainingOptions = Field(default_factory=TrainingOptions)
    init_from: str | None = Field(
        None,
        description="start from the weights of this run (folder or .keras) or of a published .h5 weights file, layer by layer where names and shapes match",
    )
    parent: ParentRun | None = Field(
        None, description="a fork: the run and epoch whose checkpoint this run started from"
    )
    lesson: str | None = Field(
        None, description="the lesson (engine.lessons) this run was made for; None: the user's own experiment"
    )

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, as_run: bool = True) -> ExperimentConfig:
        """Validate `data`, upgraded from an older schema. `as_run`: a run's config, where a field
        added since takes the value that run had (it reproduces the run); False: a person's
        remembered choices (the window's last settings), where it takes today's default."""
        data = _upgrade(dict(data), as_run)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(_describe(err)) from None

    @classmethod
    def from_json(cls, text: str, *, as_run: bool = True) -> ExperimentConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"config is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError("config must be a JSON object")
        return cls.from_dict(data, as_run=as_run)

    def updated(self, **changes: Any) -> ExperimentConfig:
        """A copy with top-level or dotted (`"training.epochs"`) fields replaced, validated."""
        data = self.to_dict()
        for key, value in changes.items():
            target = data
            *parents, leaf = key.split(".")
            for part in parents:
                target = target[part]
            target[leaf] = value
        return ExperimentConfig.from_dict(data)


def planned_epochs(config: ExperimentConfig) -> int:
    """Every epoch the config plans, all stages."""
    return config.training.epochs + config.training.stage2_epochs


def with_total_epochs(config: ExperimentConfig, total: int) -> ExperimentConfig:
    """`config` planning `total` epochs in all (resume with a new total, continue): the last
    stage grows or shrinks (stage 2 when there is one and `total` reaches past stage 1, else
    stage 1 alone)."""
    t = config.training
    if t.stage2_epochs > 0 and total > t.epochs:
        return config.updated(**{"training.stage2_epochs": total - t.epochs})
    return config.updated(**{"training.epochs": total, "training.stage2_epochs": 0})


#: What a fork never takes from the current settings: the checkpoint's model was built for its own
#: data and architecture, and its lineage is its own.
FORK_KEEPS = ("data", "arch", "parent", "schema_version", "task", "init_from", "lesson")


def fork_changes(run_config: ExperimentConfig, current: ExperimentConfig) -> dict[str, Any]:
    """The current settings that differ from a run's (dotted keys, as `updated` takes them), but
    its data and architecture: what a fork of that run with the current settings changes."""
    ours, theirs = current.model_dump(mode="json"), run_config.model_dump(mode="json")
    changes: dict[str, Any] = {}
    for key, value in ours.items():
        if key in FORK_KEEPS:
            continue
        if isinstance(value, dict) and key != "layer_trainable":
            changes.update({f"{key}.{k}": v for k, v in value.items() if theirs.get(key, {}).get(k) != v})
        elif theirs.get(key) != value:
            changes[key] = value
    return changes


def _upgrade(data: dict[str, Any], as_run: bool = True) -> dict[str, Any]:
    """Bring a config written by an older LayerLab up to `SCHEMA_VERSION` (see `from_dict`)."""
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ConfigError(
            f"config schema version {version!r} is newer than this LayerLab understands ({SCHEMA_VERSION})"
        )
    if version < 2 and as_run and isinstance(data.get("data", {}), dict):
        # Schema 2 recorded the resample rule; every earlier run shrank its folder images with Lanczos.
        data["data"] = {"resample": LEGACY_RESAMPLE, **data.get("data", {})}
    # Schema 3 added the recipe, the batch schedule, label smoothing, test-time augmentation, the target
    # accuracy and steps per execution: their defaults are how every earlier run trained.
    data["schema_version"] = SCHEMA_VERSION
    return data


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    return f"invalid {where}: {first['msg']}"
