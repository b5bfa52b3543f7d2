"""The command line's options and the experiment config they describe.

Options, their choices and their defaults come from the experiment config (`engine.config`) and
the architectures' own defaults (`ArchInfo.defaults`), so the CLI cannot drift from what the
window offers. A flag writes one config field (its `dest` is the field's dotted name) and stays
`None` unless given, so "given by the user" can always be told from "the default".
"""

from __future__ import annotations

import argparse
from typing import Any, get_args

from engine import (
    ACTIVATIONS,
    OPTIMIZERS,
    RECIPES,
    SCHEDULES,
    ArchOptions,
    Augmentation,
    DataOptions,
    ExperimentConfig,
    TrainingOptions,
    apply_recipe,
    describe_changes,
    get_architecture,
)
from engine.cli.common import EXIT_USAGE, one_line

SECTIONS = {"data": DataOptions, "arch": ArchOptions, "training": TrainingOptions, "augmentation": Augmentation}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"layerlab-cli: error: {one_line(message)}\n")


def _field(dest: str) -> Any:
    """The pydantic field behind a dotted destination such as "training.epochs"."""
    section, name = dest.split(".")
    return SECTIONS[section].model_fields[name]


def option(group: Any, flag: str, dest: str, help: str, **kwargs: Any) -> None:
    """A flag writing the config field `dest`; unset (None) unless given, its default shown."""
    default = _field(dest).default
    shown = "" if default is None or kwargs.get("action") else f" (default: {default})"
    group.add_argument(flag, dest=dest, default=None, help=help + shown, **kwargs)


def choices(dest: str) -> tuple[Any, ...]:
    """The values a Literal-typed config field accepts."""
    return get_args(_field(dest).annotation)


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a probability: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1, not {text}")
    return value


def add_training_options(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("training")
    option(
        t,
        "--recipe",
        "training.recipe",
        "fast: the architecture's fast recipe fills the training settings (a schedule moving every batch, "
        "larger batches, fewer epochs, label smoothing, flips, test-time augmentation); flags given beside it win",
        choices=RECIPES,
    )
    option(
        t,
        "--target-accuracy",
        "training.target_accuracy",
        "stop at the first epoch whose validation accuracy reaches A (a finished run)",
        type=probability,
        metavar="A",
    )
    option(t, "--epochs", "training.epochs", "epochs of the first stage", type=int)
    option(t, "--batch-size", "training.batch_size", "samples per batch", type=int)
    option(t, "--lr", "training.learning_rate", "learning rate", type=float)
    option(t, "--optimizer", "training.optimizer", "optimizer", choices=OPTIMIZERS)
    option(t, "--momentum", "training.momentum", "sgd momentum", type=float)
    option(t, "--seed", "training.seed", "seed of the split, the weights and the shuffling", type=int)
    option(
        t,
        "--early-stopping",
        "training.early_stopping",
        "stop when validation loss stops improving",
        action="store_const",
        const=True,
    )
    option(t, "--patience", "training.patience", "early stopping: epochs without improvement", type=int)
    option(t, "--stage2-epochs", "training.stage2_epochs", "staged fine-tuning: epochs after unfreezing", type=int)
    option(
        t,
        "--stage2-unfreeze",
        "training.stage2_unfreeze_last",
        "staged fine-tuning: unfreeze the last N frozen layers",
        type=int,
    )
    option(
        t, "--stage2-lr-factor", "training.stage2_lr_factor", "staged fine-tuning: learning-rate multiplier", type=float
    )
    option(
        t,
        "--no-feature-cache",
        "training.feature_cache",
        "never train on cached features of a frozen prefix",
        action="store_const",
        const=False,
    )
    option(t, "--mixed-precision", "training.mixed_precision", "mixed_float16 (GPU)", action="store_const", const=True)
    option(t, "--xla", "training.xla", "compile with XLA", action="store_const", const=True)
    option(t, "--schedule", "training.schedule", "learning-rate schedule, per epoch", choices=SCHEDULES)
    option(t, "--warmup-epochs", "training.warmup_epochs", "linear warm-up over the first N epochs", type=int)
    option(t, "--step-every", "training.step_every", "step schedule: decay every N epochs", type=int)
    option(t, "--step-factor", "training.step_factor", "step schedule: multiply the rate by this", type=float)
    option(
        t,
        "--schedule-per",
        "training.schedule_per",
        "the schedule moves on every epoch or every batch",
        choices=choices("training.schedule_per"),
    )
    option(t, "--label-smoothing", "training.label_smoothing", "cross-entropy against smoothed targets", type=float)
    option(
        t,
        "--tta",
        "training.tta",
        "test-time augmentation: final figures average each image and its flips",
        action="store_const",
        const=True,
    )
    option(
        t,
        "--steps-per-execution",
        "training.steps_per_execution",
        "batches per call into TensorFlow (less Python per batch for small models)",
        type=int,
    )
    option(
        t,
        "--deterministic",
        "training.deterministic",
        "TensorFlow's op determinism: the same seed gives the same history (slower)",
        action="store_const",
        const=True,
    )
    a = p.add_argument_group("augmentation (training data only)")
    option(a, "--flip", "augmentation.flip", "random flips", choices=choices("augmentation.flip"))
    option(a, "--rotation", "augmentation.rotation", "fraction of a full turn, e.g. 0.05", type=float)
    option(a, "--zoom", "augmentation.zoom", "random zoom fraction", type=float)
    option(a, "--translation", "augmentation.translation", "random shift, fraction of the size", type=float)
    option(a, "--contrast", "augmentation.contrast", "random contrast change", type=float)


def add_data_options(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("data")
    option(
        d, "--dataset", "data.name", "digits, shapes, mnist, fashion_mnist, cifar10, cifar100, folder:PATH, npz:PATH"
    )
    option(d, "--val-split", "data.val_split", "validation fraction", type=float)
    option(d, "--image-size", "data.image_size", "square image side for shapes/folder data", type=int)
    option(
        d,
        "--resample",
        "data.resample",
        "how folder images are shrunk: bilinear (fast) or lanczos (a little sharper)",
        choices=choices("data.resample"),
    )
    option(d, "--limit", "data.limit", "use at most N training samples", type=int)
    option(
        d,
        "--test-split",
        "data.test_split",
        "hold out this stratified fraction as the test set (data without a test split)",
        type=float,
        metavar="X",
    )
    option(
        d,
        "--validation",
        "data.validation",
        "validate on a split of the training data, or on the test split",
        choices=choices("data.validation"),
    )


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The data, the architecture and the freezing: what `train`, `summary`, `grid` and the
    other model commands share."""
    add_data_options(p)
    m = p.add_argument_group("architecture")
    option(m, "--arch", "arch.name", "architecture (see `layerlab-cli architectures`)")
    drop = m.add_mutually_exclusive_group()
    option(drop, "--dropout", "arch.dropout_rate", "dropout on, with this rate", type=float, metavar="RATE")
    option(drop, "--no-dropout", "arch.dropout", "no dropout", action="store_const", const=False)
    bn = m.add_mutually_exclusive_group()
    option(bn, "--batchnorm", "arch.batchnorm", "batch normalisation on", action="store_const", const=True)
    option(bn, "--no-batchnorm", "arch.batchnorm", "batch normalisation off", action="store_const", const=False)
    option(m, "--activation", "arch.activation", "activation of the hidden layers", choices=ACTIVATIONS)
    option(m, "--weights", "arch.weights", "backbones: imagenet, none or a weights file")
    option(m, "--pooling", "arch.pooling", "backbones: head pooling", choices=choices("arch.pooling"))
    option(m, "--head-units", "arch.head_units", "backbones: units of the head's Dense layer", type=int)
    option(
        m, "--no-freeze-base", "arch.freeze_base", "backbones: train the whole base", action="store_const", const=False
    )
    option(m, "--fine-tune-last", "arch.fine_tune_last", "backbones: unfreeze the base's last N layers", type=int)
    m.add_argument(
        "--task",
        choices=("classification", "autoencoder"),
        help="autoencoder: learn to reconstruct the images (default arch conv_autoencoder; default: classification)",
    )
    option(m, "--noise", "arch.noise", "autoencoders: std of the Gaussian noise on the inputs (0..1 scale)", type=float)
    option(m, "--latent-size", "arch.latent_size", "dense_autoencoder: units of the code layer", type=int)
    option(
        m,
        "--no-reconstruction",
        "arch.reconstruction",
        "capsnet: without the reconstruction decoder",
        action="store_const",
        const=False,
    )
    f = p.add_argument_group("freezing")
    f.add_argument("--freeze", nargs="+", default=[], metavar="LAYER", help="freeze these layers")
    f.add_argument("--unfreeze", nargs="+", default=[], metavar="LAYER", help="make these layers trainable")
    f.add_argument("--freeze-all-but", type=int, metavar="N", help="freeze every layer but the last N with weights")
    f.add_argument(
        "--init-from", metavar="RUN", help="start from the weights of a saved run (layers with the same names)"
    )


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The experiment config the flags describe: the config's defaults, then the chosen
    architecture's own defaults (e.g. bn_cnn's batch normalisation), then what the user gave."""
    given = {dest: value for dest, value in vars(args).items() if "." in dest and value is not None}
    if "arch.dropout_rate" in given:
        given["arch.dropout"] = True
    task = getattr(args, "task", None) or "classification"
    default_arch = "conv_autoencoder" if task == "autoencoder" else ArchOptions.model_fields["name"].default
    arch_name = given.setdefault("arch.name", default_arch)
    preset = {f"arch.{key}": value for key, value in get_architecture(arch_name).defaults.items()}
    layer_trainable = {name: False for name in args.freeze} | {name: True for name in args.unfreeze}
    config = ExperimentConfig().updated(
        **(preset | given),
        layer_trainable=layer_trainable,
        task=task,
        freeze_all_but=args.freeze_all_but,
        init_from=args.init_from,
    )
    if given.get("training.recipe") == "fast":  # the recipe fills the training settings; given flags win
        config = apply_recipe(config, "fast").updated(**given)
    return config


def recipe_note(args: argparse.Namespace, config: ExperimentConfig) -> str:
    """ "fast recipe: optimizer rmsprop → adam; ..." when `--recipe fast` filled the settings, else ""."""
    if config.training.recipe != "fast" or getattr(args, "training.recipe", None) != "fast":
        return ""
    plain = argparse.Namespace(**{**vars(args), "training.recipe": None})
    changes = describe_changes(config_from_args(plain), config)
    return "fast recipe: " + ("; ".join(changes) if changes else "the settings given were already the recipe's")


def given_options(args: argparse.Namespace) -> list[str]:
    """The config fields and freezing options the user gave (not left at their defaults)."""
    given = [dest for dest, value in vars(args).items() if "." in dest and value is not None]
    return (
        given
        + [name for name in ("freeze", "unfreeze") if getattr(args, name)]
        + [name for name in ("freeze_all_but", "init_from") if getattr(args, name) is not None]
    )
