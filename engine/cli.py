"""`layerlab-cli`: everything the window can do, headless.

User mistakes (bad flags, missing files, undecodable images, datasets that cannot load) end
with a one-line reason on stderr and a non-zero exit; never a traceback. Options, their choices
and their defaults come from the experiment config (`engine.config`) and the architectures'
own defaults (`ArchInfo.defaults`), so the CLI cannot drift from what the window offers.

TensorFlow is started (quietly) only once the cheap checks have passed: a bad dataset file or a
broken run folder is refused in a fraction of a second. During training, SIGINT (Ctrl+C) and
SIGTERM stop it like the window's Stop button: the run so far is saved, then the process exits
with 128 + the signal's number; a second signal aborts at once.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence, TextIO, get_args

from engine.config import ACTIVATIONS, OPTIMIZERS, ArchOptions, Augmentation, DataOptions, TrainingOptions

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SECTIONS = {"data": DataOptions, "arch": ArchOptions, "training": TrainingOptions, "augmentation": Augmentation}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"layerlab-cli: error: {_one_line(message)}\n")


def _field(dest: str) -> Any:
    """The pydantic field behind a dotted destination such as "training.epochs"."""
    section, name = dest.split(".")
    return SECTIONS[section].model_fields[name]


def _option(group: Any, flag: str, dest: str, help: str, **kwargs: Any) -> None:
    """A flag writing the config field `dest`; unset (None) unless given, its default shown."""
    default = _field(dest).default
    shown = "" if default is None or kwargs.get("action") else f" (default: {default})"
    group.add_argument(flag, dest=dest, default=None, help=help + shown, **kwargs)


def _choices(dest: str) -> tuple[Any, ...]:
    """The values a Literal-typed config field accepts."""
    return get_args(_field(dest).annotation)


def build_parser() -> argparse.ArgumentParser:
    from engine.cli_experiments import add_experiment_commands
    from engine.cli_keep import add_keep_commands

    parser = _Parser(prog="layerlab-cli", description="LayerLab without a window: train, classify, inspect.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a model and save a run folder")
    _add_model_options(train)
    _add_training_options(train)
    train.add_argument("--memory-budget", type=float, metavar="MB",
                       help="memory LayerLab's caches may use; beyond it the disk caches take over "
                            "(default: a quarter of the machine's memory, at most 4096)")
    train.add_argument("--out", type=Path, help="run folder to write (default: a new folder under the runs root)")
    train.add_argument("--resume", type=Path, metavar="RUN_DIR",
                       help="go on with this run from its last complete epoch, with its own settings "
                            "(--epochs TOTAL: a new planned total)")
    train.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")

    classify = sub.add_parser("classify", help="classify images with a trained run")
    classify.add_argument("model", type=Path, help="run folder or its model.keras")
    classify.add_argument("images", type=Path, nargs="+")
    classify.add_argument("--top", type=int, default=3)
    classify.add_argument("--threshold", type=_probability, metavar="P",
                          help="answers whose top probability is below P are reported as \"not sure\"")
    classify.add_argument("--json", action="store_true")
    _add_insight_commands(sub)

    datasets = sub.add_parser("datasets", help="list datasets")
    datasets.add_argument("--json", action="store_true")
    archs = sub.add_parser("architectures", help="list architectures")
    archs.add_argument("--json", action="store_true")
    summary = sub.add_parser("summary", help="the layer table of an architecture on a dataset")
    _add_model_options(summary)
    summary.add_argument("--json", action="store_true")
    runs = sub.add_parser("runs", help="list saved runs (broken ones with their problem)")
    runs.add_argument("--json", action="store_true")
    cache = sub.add_parser("cache", help="the disk caches (decoded images, frozen features): their size, or clear them")
    cache.add_argument("--clear", action="store_true", help="delete the caches (they only save work)")
    cache.add_argument("--json", action="store_true")
    add_experiment_commands(sub, _add_model_options, _add_training_options)
    add_keep_commands(sub, _add_model_options, _add_training_options)
    from engine.cli_lessons import add_lesson_commands

    add_lesson_commands(sub)
    return parser


def _add_insight_commands(sub: Any) -> None:
    """report, explain and label-issues (issue 11); their work is in engine.insight."""
    report = sub.add_parser("report", help="per-class precision, recall and F1 of a run, and its most confused pairs")
    report.add_argument("run", type=Path, help="run folder")
    report.add_argument("--json", action="store_true")
    explain = sub.add_parser("explain", help="write a Grad-CAM (or saliency) overlay per image")
    explain.add_argument("model", type=Path, help="run folder or its model.keras")
    explain.add_argument("images", type=Path, nargs="+")
    explain.add_argument("--out", type=Path, required=True, help="folder for the overlay PNGs")
    explain.add_argument("--layer", help="the layer Grad-CAM reads (default: the last convolutional one)")
    explain.add_argument("--json", action="store_true")
    issues = sub.add_parser("label-issues", help="rank samples by how likely their label is wrong (confident learning)")
    _add_model_options(issues)
    t = issues.add_argument_group("cross-validation")
    _option(t, "--epochs", "training.epochs", "epochs per fold", type=int)
    _option(t, "--batch-size", "training.batch_size", "samples per batch", type=int)
    _option(t, "--lr", "training.learning_rate", "learning rate", type=float)
    _option(t, "--seed", "training.seed", "seed of the split and the folds", type=int)
    issues.add_argument("--folds", type=int, default=4, help="cross-validation folds (default: 4)")
    issues.add_argument("--top", type=int, default=30, help="how many to print without --json (default: 30)")
    issues.add_argument("--json", action="store_true", help="print every issue as one JSON list")


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a probability: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability is between 0 and 1, not {text}")
    return value


def _add_training_options(p: argparse.ArgumentParser) -> None:
    from engine.cli_keep import add_schedule_options

    t = p.add_argument_group("training")
    _option(t, "--epochs", "training.epochs", "epochs of the first stage", type=int)
    _option(t, "--batch-size", "training.batch_size", "samples per batch", type=int)
    _option(t, "--lr", "training.learning_rate", "learning rate", type=float)
    _option(t, "--optimizer", "training.optimizer", "optimizer", choices=OPTIMIZERS)
    _option(t, "--momentum", "training.momentum", "sgd momentum", type=float)
    _option(t, "--seed", "training.seed", "seed of the split, the weights and the shuffling", type=int)
    _option(t, "--early-stopping", "training.early_stopping", "stop when validation loss stops improving",
            action="store_const", const=True)
    _option(t, "--patience", "training.patience", "early stopping: epochs without improvement", type=int)
    _option(t, "--stage2-epochs", "training.stage2_epochs", "staged fine-tuning: epochs after unfreezing", type=int)
    _option(t, "--stage2-unfreeze", "training.stage2_unfreeze_last", "staged fine-tuning: unfreeze the last N frozen layers", type=int)
    _option(t, "--stage2-lr-factor", "training.stage2_lr_factor", "staged fine-tuning: learning-rate multiplier", type=float)
    _option(t, "--no-feature-cache", "training.feature_cache", "never train on cached features of a frozen prefix",
            action="store_const", const=False)
    _option(t, "--mixed-precision", "training.mixed_precision", "mixed_float16 (GPU)", action="store_const", const=True)
    _option(t, "--xla", "training.xla", "compile with XLA", action="store_const", const=True)
    add_schedule_options(t, _option)
    a = p.add_argument_group("augmentation (training data only)")
    _option(a, "--flip", "augmentation.flip", "random flips", choices=_choices("augmentation.flip"))
    _option(a, "--rotation", "augmentation.rotation", "fraction of a full turn, e.g. 0.05", type=float)
    _option(a, "--zoom", "augmentation.zoom", "random zoom fraction", type=float)
    _option(a, "--translation", "augmentation.translation", "random shift, fraction of the size", type=float)
    _option(a, "--contrast", "augmentation.contrast", "random contrast change", type=float)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("data")
    _option(d, "--dataset", "data.name", "digits, shapes, mnist, fashion_mnist, cifar10, cifar100, folder:PATH, npz:PATH")
    _option(d, "--val-split", "data.val_split", "validation fraction", type=float)
    _option(d, "--image-size", "data.image_size", "square image side for shapes/folder data", type=int)
    _option(d, "--resample", "data.resample", "how folder images are shrunk: bilinear (fast) or lanczos (a little sharper)",
            choices=_choices("data.resample"))
    _option(d, "--limit", "data.limit", "use at most N training samples", type=int)
    _option(d, "--test-split", "data.test_split", "hold out this stratified fraction as the test set (data without a test split)",
            type=float, metavar="X")
    _option(d, "--validation", "data.validation", "validate on a split of the training data, or on the test split",
            choices=_choices("data.validation"))
    m = p.add_argument_group("architecture")
    _option(m, "--arch", "arch.name", "architecture (see `layerlab-cli architectures`)")
    drop = m.add_mutually_exclusive_group()
    _option(drop, "--dropout", "arch.dropout_rate", "dropout on, with this rate", type=float, metavar="RATE")
    _option(drop, "--no-dropout", "arch.dropout", "no dropout", action="store_const", const=False)
    bn = m.add_mutually_exclusive_group()
    _option(bn, "--batchnorm", "arch.batchnorm", "batch normalisation on", action="store_const", const=True)
    _option(bn, "--no-batchnorm", "arch.batchnorm", "batch normalisation off", action="store_const", const=False)
    _option(m, "--activation", "arch.activation", "activation of the hidden layers", choices=ACTIVATIONS)
    _option(m, "--weights", "arch.weights", "backbones: imagenet, none or a weights file")
    _option(m, "--pooling", "arch.pooling", "backbones: head pooling", choices=_choices("arch.pooling"))
    _option(m, "--head-units", "arch.head_units", "backbones: units of the head's Dense layer", type=int)
    _option(m, "--no-freeze-base", "arch.freeze_base", "backbones: train the whole base", action="store_const", const=False)
    _option(m, "--fine-tune-last", "arch.fine_tune_last", "backbones: unfreeze the base's last N layers", type=int)
    m.add_argument("--task", choices=("classification", "autoencoder"),
                   help="autoencoder: learn to reconstruct the images (default arch conv_autoencoder; default: classification)")
    _option(m, "--noise", "arch.noise", "autoencoders: std of the Gaussian noise on the inputs (0..1 scale)", type=float)
    _option(m, "--latent-size", "arch.latent_size", "dense_autoencoder: units of the code layer", type=int)
    _option(m, "--no-reconstruction", "arch.reconstruction", "capsnet: without the reconstruction decoder",
            action="store_const", const=False)
    f = p.add_argument_group("freezing")
    f.add_argument("--freeze", nargs="+", default=[], metavar="LAYER", help="freeze these layers")
    f.add_argument("--unfreeze", nargs="+", default=[], metavar="LAYER", help="make these layers trainable")
    f.add_argument("--freeze-all-but", type=int, metavar="N", help="freeze every layer but the last N with weights")
    f.add_argument("--init-from", metavar="RUN", help="start from the weights of a saved run (layers with the same names)")


def config_from_args(args: argparse.Namespace) -> Any:
    """The experiment config the flags describe: the config's defaults, then the chosen
    architecture's own defaults (e.g. bn_cnn's batch normalisation), then what the user gave."""
    from engine.architectures import get_architecture
    from engine.config import ExperimentConfig

    given = {dest: value for dest, value in vars(args).items() if "." in dest and value is not None}
    if "arch.dropout_rate" in given:
        given["arch.dropout"] = True
    task = getattr(args, "task", None) or "classification"
    arch_name = given.setdefault("arch.name", "conv_autoencoder" if task == "autoencoder" else ArchOptions.model_fields["name"].default)
    preset = {f"arch.{key}": value for key, value in get_architecture(arch_name).defaults.items()}
    layer_trainable = {name: False for name in args.freeze} | {name: True for name in args.unfreeze}
    return ExperimentConfig().updated(**(preset | given), layer_trainable=layer_trainable, task=task,
                                      freeze_all_but=args.freeze_all_but, init_from=args.init_from)


# --- commands ---------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from engine.cli_keep import resume_config

    config = config_from_args(args) if args.resume is None else resume_config(args)
    from engine.cancel import CancelToken
    from engine.datasets import load_dataset

    budget = _memory_budget(args.memory_budget)
    dataset = load_dataset(config.data, seed=config.training.seed, budget=budget)  # before TensorFlow: bad data fails fast
    _report_skipped(dataset.skipped, "")
    _start_tensorflow()
    from engine.training import FeatureCache, train

    cancel = CancelToken()
    found_before = len(dataset.skipped)
    with StopOnSignals(cancel) as stop:
        result = train(config, _Progress(), cancel, dataset=dataset, run_dir=args.out,
                       feature_cache=FeatureCache.default(budget), memory_budget=budget, resume=args.resume is not None)
    _report_skipped(dataset.skipped[found_before:], " while decoding")
    if result.failed:
        _err(f"layerlab-cli: training failed: {result.failed}")
        if args.json:
            _out(json.dumps({"error": result.failed, "kind": result.failed_kind, "run_dir": str(result.run_dir or "")}))
        return EXIT_FAILED
    m = result.metrics
    summary = {
        "val_accuracy": m.val_accuracy, "val_loss": m.val_loss,
        "train_accuracy": m.train_accuracy, "train_loss": m.train_loss,
        "epochs_run": m.epochs_run, "misclassified": m.misclassified_count,
        "val_count": m.val_count, "stopped_early": result.stopped_early, "cancelled": result.cancelled,
        "feature_cache": result.feature_cache_used, "run_dir": str(result.run_dir),
        "skipped_files": [{"path": path, "reason": reason} for path, reason in dataset.skipped],
        "test_accuracy": m.test_accuracy, "test_loss": m.test_loss, "test_count": m.test_count,
        "test_is_validation": m.test_is_validation, "evaluated_weights": m.evaluated_weights,
        "trainable_params": m.trainable_params, "seconds": m.seconds,
    }
    if config.task == "autoencoder":
        summary |= {"reconstruction_error": m.reconstruction_error, "noisy_input_error": m.noisy_input_error, "noise": m.noise}
    if args.json:
        _out(json.dumps(summary))
    elif config.task == "autoencoder":
        _out(f"reconstruction_error {_fmt(m.reconstruction_error)} (noisy inputs: {_fmt(m.noisy_input_error)}, "
             f"noise {m.noise:g})  run {_printable(result.run_dir)}")
    else:
        test = f"test_accuracy {_fmt(m.test_accuracy)}{' (= validation)' if m.test_is_validation else ''}  " \
            if m.test_count else ""
        _out(f"val_accuracy {_fmt(m.val_accuracy)}  val_loss {_fmt(m.val_loss)}  {test}"
             f"misclassified {m.misclassified_count}/{m.val_count}  run {_printable(result.run_dir)}")
    if stop.received is not None:
        epochs = f"{m.epochs_run} epoch{'s' if m.epochs_run != 1 else ''}"
        _err(f"layerlab-cli: stopped by {signal.Signals(stop.received).name} after {epochs}; "
             f"the model, metrics and history so far are saved in {_printable(result.run_dir)}; "
             f"go on with: layerlab-cli train --resume {_printable(result.run_dir)}")
        return 128 + stop.received
    return EXIT_OK


def _memory_budget(megabytes: float | None) -> Any:
    from engine.errors import ConfigError
    from engine.memory import MemoryBudget

    if megabytes is None:
        return MemoryBudget.default()
    if not math.isfinite(megabytes) or megabytes < 0:
        raise ConfigError(f"--memory-budget must be a number of megabytes, 0 or more (got {megabytes:g})")
    return MemoryBudget.from_megabytes(megabytes)


def _report_skipped(skipped: list[tuple[str, str]], when: str) -> None:
    if skipped:
        names = ", ".join(_printable(Path(path).name) for path, _ in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        _err(f"skipped {len(skipped)} file(s) that are not readable images{when}: {names}{more}")


class _Progress:
    """Prints training events on stderr; `Preparing` at most every `PREPARING_LINE_S` (and its end)."""

    PREPARING_LINE_S = 2.0

    def __init__(self) -> None:
        self._last_line = -math.inf

    def __call__(self, event: Any) -> None:
        from engine.events import Preparing

        if isinstance(event, Preparing):
            self._preparing(event)
        else:
            _print_progress(event)

    def _preparing(self, event: Any) -> None:
        import time

        now = time.monotonic()
        if event.done < event.total and now - self._last_line < self.PREPARING_LINE_S:
            return
        self._last_line = now
        _err(preparing_line(event))


def preparing_line(event: Any) -> str:
    """"decoding images: 1,200/5,000 (310/s, 12 s left)" and the like."""
    what = "decoding images" if event.stage == "decoding" else "extracting features"
    if event.from_cache:
        return f"{what}: all {event.total:,} read from the cache"
    if event.done >= event.total:
        pace = f"{event.seconds:.1f} s, {event.rate:,.0f}/s"
    else:
        left = event.seconds_left
        pace = f"{event.rate:,.0f}/s, {left:,.0f} s left" if math.isfinite(left) else "starting"
    notes = []
    if event.stage == "extracting" and event.decoded:
        notes.append(f"{event.decoded:,} decoded")
    if event.skipped:
        notes.append(f"{event.skipped:,} unreadable")
    return f"{what}: {event.done:,}/{event.total:,} ({pace}{'; ' + ', '.join(notes) if notes else ''})"


def _print_progress(event: Any) -> None:
    from engine.cli_keep import resume_line
    from engine.events import EpochEnd, Resumed, StageChanged, Started

    if isinstance(event, Started):
        cache = "on cached features" if event.feature_cache else "end to end"
        _err(f"training on {event.device}, {event.samples_train} train / {event.samples_val} validation samples, "
             f"{event.trainable_params:,} of {event.total_params:,} parameters trainable, {cache}"
             + (f" ({event.note})" if event.note and not event.feature_cache else ""))
        _err(f"run folder: {_printable(event.run_dir)}")
    elif isinstance(event, EpochEnd):
        _err(f"epoch {event.epoch + 1}/{event.epochs}: loss {_fmt(event.loss)} acc {_fmt(event.accuracy)} "
             f"val_loss {_fmt(event.val_loss)} val_acc {_fmt(event.val_accuracy)} ({event.seconds:.1f}s)")
    elif isinstance(event, StageChanged):
        _err(f"stage {event.stage}: {event.description}")
    elif isinstance(event, Resumed):
        _err(resume_line(event))


class StopOnSignals:
    """While training: SIGINT and SIGTERM set the cancel token (the window's Stop button) and the
    trainer saves the run so far; the first signal also restores the default handlers, so a
    second one ends the process at once.

    The handler only records and cancels: printing from it could interrupt a print in progress
    on the same stream. Handlers can only be set from the main thread; elsewhere (a test calling
    `main` in a thread) signals keep their usual meaning.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, cancel: Any) -> None:
        self.cancel = cancel
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopOnSignals":
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        self.cancel.cancel()
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)


def cmd_classify(args: argparse.Namespace) -> int:
    from engine.errors import LayerLabError
    from engine.inference import Classifier, resolve_run

    resolve_run(args.model)  # the run's files and model archive, checked before TensorFlow starts
    _start_tensorflow()
    classifier = Classifier.from_run(args.model)
    results: list[dict[str, Any]] = []
    for path in args.images:
        try:
            prediction = classifier.classify(path, top_k=args.top, threshold=args.threshold)
            results.append({"path": str(path), "top": [{"label": l, "probability": p} for l, p in prediction.top],
                            "familiar": prediction.familiar, "ood_score": prediction.ood_score,
                            "verdict": prediction.verdict})
        except LayerLabError as err:
            results.append({"path": str(path), "error": _one_line(str(err))})
    if args.json:
        _out(json.dumps(results))
    else:
        for entry in results:
            if "error" in entry:
                _out(f"{_printable(entry['path'])}: error: {entry['error']}")
            else:
                tops = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in entry["top"])
                said = "" if entry["verdict"] == entry["top"][0]["label"] else f"{entry['verdict']} ("
                _out(f"{_printable(entry['path'])}: {said}{tops}{')' if said else ''}")
    failures = sum("error" in entry for entry in results)
    if failures:
        _err(f"layerlab-cli: {failures} of {len(results)} images could not be classified")
    return EXIT_FAILED if failures == len(results) else EXIT_OK


def cmd_datasets(args: argparse.Namespace) -> int:
    from engine.datasets import list_datasets

    infos = list_datasets()
    if args.json:
        _out(json.dumps([{"name": i.name, "description": i.description, "needs_download": i.needs_download} for i in infos]))
    else:
        for i in infos:
            _out(f"{i.name:16} {i.description}{'  (download)' if i.needs_download else ''}")
    return EXIT_OK


def cmd_architectures(args: argparse.Namespace) -> int:
    from engine.architectures import list_architectures

    infos = list_architectures(task=None)
    if args.json:
        _out(json.dumps([{"name": i.name, "description": i.description, "kind": i.kind} for i in infos]))
    else:
        for i in infos:
            _out(f"{i.name:17} {i.kind:11} {i.description}")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from engine.datasets import load_dataset

    dataset = load_dataset(config.data, seed=0)
    _start_tensorflow()
    from engine.architectures import build_model
    from engine.layers import apply_freezing, layer_table, param_counts

    model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
    apply_freezing(model, config.layer_trainable, config.freeze_all_but)
    table = layer_table(model)
    trainable, frozen = param_counts(model)
    if args.json:
        _out(json.dumps({"layers": [vars(row) for row in table], "trainable_params": trainable,
                          "non_trainable_params": frozen}))
        return EXIT_OK
    _out(f"{'layer':28} {'kind':22} {'output':16} {'params':>11}  trainable")
    for row in table:
        _out(f"{row.name:28} {row.kind:22} {row.output_shape:16} {row.params:>11,}  {'yes' if row.trainable else 'no'}")
    _out(f"trainable: {trainable:,}   non-trainable: {frozen:,}   total: {trainable + frozen:,}")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from engine.caches import cache_root, cache_usage, clear_caches
    from engine.files import format_bytes

    freed = clear_caches() if args.clear else None
    usage = cache_usage()
    if args.json:
        document: dict[str, Any] = {"root": str(cache_root()), "caches": [
            {"kind": u.kind, "path": str(u.path), "bytes": u.bytes, "entries": u.entries, "limit_bytes": u.limit_bytes}
            for u in usage]}
        if freed is not None:
            document["freed_bytes"] = freed
        _out(json.dumps(document))
        return EXIT_OK
    if freed is not None:
        _out(f"cleared the caches: {format_bytes(freed)} freed")
    for u in usage:
        unit = "images" if u.kind == "images" else "feature sets"
        _out(f"{u.kind:9} {format_bytes(u.bytes):>10} of {format_bytes(u.limit_bytes):>10}  {u.entries:,} {unit}  "
             f"{_printable(u.path)}")
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from engine.runs import list_runs

    summaries = list_runs()
    if args.json:
        _out(json.dumps([{**asdict(s), "path": str(s.path)} for s in summaries]))
        return EXIT_OK
    for s in summaries:
        if s.problem:
            _out(f"{s.created:16}  BROKEN  {_printable(s.path)}: {_one_line(s.problem)}")
        else:
            test = f"test_acc {_fmt(s.test_accuracy)}  " if s.test_accuracy is not None else ""
            _out(f"{s.created}  {_printable(s.dataset):14} {s.arch:14} epochs {s.epochs:3}  "
                 f"val_acc {_fmt(s.val_accuracy)}  {test}{_printable(s.path)}")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from engine.insight.report import report_text, run_report

    report = run_report(args.run)
    _out(json.dumps(report) if args.json else report_text(report))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from engine.inference import resolve_run

    resolve_run(args.model)  # checked before TensorFlow starts
    _start_tensorflow()
    from engine.insight.report import explain_images

    results = explain_images(args.model, args.images, args.out, layer=args.layer)
    if args.json:
        _out(json.dumps(results))
    else:
        for entry in results:
            if "error" in entry:
                _out(f"{_printable(entry['path'])}: error: {entry['error']}")
            else:
                _out(f"{_printable(entry['path'])}: {entry['label']} {entry['probability']:.1%}, evidence peaks at "
                     f"y {entry['peak'][0]:.2f} x {entry['peak'][1]:.2f} → {_printable(entry['overlay'])}")
    failures = sum("error" in entry for entry in results)
    if failures:
        _err(f"layerlab-cli: {failures} of {len(results)} images could not be explained")
    return EXIT_FAILED if failures == len(results) else EXIT_OK


def cmd_label_issues(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from engine.datasets import load_dataset

    dataset = load_dataset(config.data, seed=config.training.seed)  # before TensorFlow: bad data fails fast
    _start_tensorflow()
    from engine.cancel import CancelToken
    from engine.insight.label_issues import find_label_issues

    def progress(event: Any) -> None:
        _err(f"fold {event.fold}/{event.folds} done ({event.seconds:.1f}s)")

    _err(f"cross-validating {config.arch.name} on {dataset.name}: {args.folds} folds of {config.training.epochs} epochs")
    cancel = CancelToken()
    with StopOnSignals(cancel):
        try:
            issues = find_label_issues(config, folds=args.folds, cancel=cancel, observer=progress, dataset=dataset)
        except InterruptedError:
            _err("layerlab-cli: stopped; no label issues were ranked")
            return 130
    if args.json:
        _out(json.dumps([asdict(issue) for issue in issues]))
        return EXIT_OK
    _out(f"{len(issues)} likely label errors, most likely first")
    for issue in issues[: max(0, args.top)]:
        where = _printable(issue.source) if issue.source else f"{issue.split}[{issue.index}]"
        _out(f"{issue.score:.3f}  {where}: labelled {issue.given!r}, looks like {issue.suggested!r}")
    if len(issues) > args.top:
        _out(f"... and {len(issues) - args.top} more (--top N, or --json for all)")
    return EXIT_OK


COMMANDS = {"train": cmd_train, "classify": cmd_classify, "datasets": cmd_datasets,
            "architectures": cmd_architectures, "summary": cmd_summary, "runs": cmd_runs, "cache": cmd_cache,
            "report": cmd_report, "explain": cmd_explain, "label-issues": cmd_label_issues}


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from engine.errors import LayerLabError

    global _results
    _results = sys.stdout
    try:
        # Keras prints download progress on stdout: with --json, stdout is kept for the one JSON
        # document and everything else goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            return getattr(args, "handler", COMMANDS.get(args.command))(args)
    except LayerLabError as err:
        _err(f"layerlab-cli: error: {_one_line(str(err))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("layerlab-cli: interrupted")
        return 130
    except MemoryError:
        _err("layerlab-cli: error: out of memory")
        return EXIT_FAILED
    except Exception as err:  # a bug or an unforeseen fault: still one line, never a traceback
        _err(f"layerlab-cli: internal error: {type(err).__name__}: {_one_line(str(err))}")
        return EXIT_FAILED


_results: TextIO | None = None  # where results go while stdout is redirected to stderr


def _start_tensorflow() -> None:
    from engine.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()


def _out(text: str) -> None:
    """The command's result, on the stdout the command was started with."""
    print(text, file=_results or sys.stdout, flush=True)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:1000]


def _printable(value: Any) -> str:
    from engine.files import printable_path

    return printable_path(str(value)) if value is not None else ""


def _fmt(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.4f}"


if __name__ == "__main__":
    # Run the `engine.cli` module, not this `__main__` copy of it: the experiment commands
    # (engine.cli_experiments) import engine.cli, and there must be one set of its globals.
    from engine.cli import main as _main

    sys.exit(_main())
