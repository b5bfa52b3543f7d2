"""`layerlab-cli train` (and `train --resume`) and `layerlab-cli lr-find`.

`train` loads the data before TensorFlow starts (bad data fails fast), trains with progress on
stderr and prints the final figures (or one JSON object). SIGINT and SIGTERM stop it like the
window's Stop button: the run so far is saved, then the process exits with 128 + the signal's
number; a second signal aborts at once. `train --resume RUN_DIR [--epochs TOTAL]` goes on with a
run from its last complete epoch (its latest checkpoint) with the run's own settings; `--epochs`
sets a new planned total (a finished run continues). `lr-find` sweeps the learning rate
(engine.training.lr_finder) and prints `{"suggested_lr", "lrs", "losses"}`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine import (
    Cancelled,
    CancelToken,
    ConfigError,
    ExperimentConfig,
    FeatureCache,
    latest_checkpoint,
    load_dataset,
    load_run,
    planned_epochs,
    with_total_epochs,
)
from engine.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    StopOnSignals,
    err,
    fmt,
    memory_budget,
    out,
    printable,
    report_skipped,
    start_tensorflow,
)
from engine.cli.options import (
    add_model_options,
    add_training_options,
    config_from_args,
    given_options,
    recipe_note,
)
from engine.cli.progress import TrainingProgress


def add_commands(sub: Any) -> None:
    train = sub.add_parser("train", help="train a model and save a run folder")
    add_model_options(train)
    add_training_options(train)
    train.add_argument(
        "--memory-budget",
        type=float,
        metavar="MB",
        help="memory LayerLab's caches may use; beyond it the disk caches take over "
        "(default: a quarter of the machine's memory, at most 4096)",
    )
    train.add_argument("--out", type=Path, help="run folder to write (default: a new folder under the runs root)")
    train.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="go on with this run from its last complete epoch, with its own settings "
        "(--epochs TOTAL: a new planned total)",
    )
    train.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")
    train.set_defaults(handler=cmd_train)

    finder = sub.add_parser("lr-find", help="the learning-rate finder: loss against an exponentially growing rate")
    add_model_options(finder)
    add_training_options(finder)
    s = finder.add_argument_group("sweep")
    s.add_argument("--start", type=float, default=1e-7, help="first rate (default: 1e-7)")
    s.add_argument("--end", type=float, default=10.0, help="last rate (default: 10)")
    s.add_argument("--steps", type=int, default=100, help="batches, one rate each (default: 100)")
    finder.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    finder.set_defaults(handler=cmd_lr_find)


def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args) if args.resume is None else resume_config(args)
    note = recipe_note(args, config) if args.resume is None else ""
    if note:
        err(note)
    budget = memory_budget(args.memory_budget)
    dataset = load_dataset(
        config.data, seed=config.training.seed, budget=budget
    )  # before TensorFlow: bad data fails fast
    report_skipped(dataset.skipped, "")
    start_tensorflow()
    # TensorFlow: imported here, so importing this module stays cheap
    from engine import train

    cancel = CancelToken()
    found_before = len(dataset.skipped)
    with StopOnSignals(cancel) as stop:
        result = train(
            config,
            TrainingProgress(),
            cancel,
            dataset=dataset,
            run_dir=args.out,
            feature_cache=FeatureCache.default(budget),
            memory_budget=budget,
            resume=args.resume is not None,
        )
    report_skipped(dataset.skipped[found_before:], " while decoding")
    if result.failed:
        err(f"layerlab-cli: training failed: {result.failed}")
        if args.json:
            out(json.dumps({"error": result.failed, "kind": result.failed_kind, "run_dir": str(result.run_dir or "")}))
        return EXIT_FAILED
    m = result.metrics
    summary = {
        "val_accuracy": m.val_accuracy,
        "val_loss": m.val_loss,
        "train_accuracy": m.train_accuracy,
        "train_loss": m.train_loss,
        "epochs_run": m.epochs_run,
        "misclassified": m.misclassified_count,
        "val_count": m.val_count,
        "stopped_early": result.stopped_early,
        "reached_target": result.reached_target,
        "cancelled": result.cancelled,
        "feature_cache": result.feature_cache_used,
        "run_dir": str(result.run_dir),
        "skipped_files": [{"path": path, "reason": reason} for path, reason in dataset.skipped],
        "test_accuracy": m.test_accuracy,
        "test_loss": m.test_loss,
        "test_count": m.test_count,
        "test_is_validation": m.test_is_validation,
        "evaluated_weights": m.evaluated_weights,
        "trainable_params": m.trainable_params,
        "seconds": m.seconds,
        "train_seconds": m.train_seconds,
        "recipe": config.training.recipe,
    }
    if config.task == "autoencoder":
        summary |= {
            "reconstruction_error": m.reconstruction_error,
            "noisy_input_error": m.noisy_input_error,
            "noise": m.noise,
        }
    if args.json:
        out(json.dumps(summary))
    elif config.task == "autoencoder":
        out(
            f"reconstruction_error {fmt(m.reconstruction_error)} (noisy inputs: {fmt(m.noisy_input_error)}, "
            f"noise {m.noise:g})  run {printable(result.run_dir)}"
        )
    else:
        test = (
            f"test_accuracy {fmt(m.test_accuracy)}{' (= validation)' if m.test_is_validation else ''}  "
            if m.test_count
            else ""
        )
        target = (
            f"target {config.training.target_accuracy:g} reached at epoch {m.epochs_run}  "
            if result.reached_target
            else ""
        )
        out(
            f"val_accuracy {fmt(m.val_accuracy)}  val_loss {fmt(m.val_loss)}  {test}{target}"
            f"misclassified {m.misclassified_count}/{m.val_count}  run {printable(result.run_dir)}"
        )
    if stop.received is not None:
        epochs = f"{m.epochs_run} epoch{'s' if m.epochs_run != 1 else ''}"
        err(
            f"layerlab-cli: stopped by {stop.signal_name()} after {epochs}; "
            f"the model, metrics and history so far are saved in {printable(result.run_dir)}; "
            f"go on with: layerlab-cli train --resume {printable(result.run_dir)}"
        )
        return stop.exit_code()
    return EXIT_OK


def resume_config(args: argparse.Namespace) -> ExperimentConfig:
    """The config `train --resume RUN_DIR` goes on with: the run's own, with `--epochs` as the
    new planned total. Refuses other settings, a run without a checkpoint, and a run that already
    has every planned epoch, before TensorFlow starts."""
    others = [name for name in given_options(args) if name != "training.epochs"]
    if others or args.out is not None:
        raise ConfigError(
            "--resume goes on with the run's own settings (its config.json); only --epochs TOTAL "
            f"may be given with it, not {others[0] if others else '--out'}"
        )
    run = load_run(args.resume)
    latest = latest_checkpoint(run.path)
    if latest is None:
        raise ConfigError(
            f"{printable(run.path)} has no checkpoint to resume from: it stopped before its first "
            "epoch ended, or was trained before LayerLab kept checkpoints"
        )
    config = run.config
    total = getattr(args, "training.epochs")
    if total is not None:
        config = with_total_epochs(config, total)
    if planned_epochs(config) <= latest.epoch + 1:
        raise ConfigError(
            f"{printable(run.path)} already has {latest.epoch + 1} complete epochs of the "
            f"{planned_epochs(config)} planned; give --epochs TOTAL with a larger total to continue it"
        )
    args.out = run.path
    return config


def cmd_lr_find(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if not (0 < args.start < args.end) or args.steps < 5:
        raise ConfigError("lr-find needs 0 < --start < --end and --steps of at least 5")
    dataset = load_dataset(config.data, seed=config.training.seed)  # before TensorFlow: bad data fails fast
    start_tensorflow()
    from engine import find_learning_rate  # TensorFlow: only once the cheap checks have passed

    err(
        f"sweeping the learning rate of {config.arch.name} on {dataset.name} from {args.start:g} to {args.end:g} "
        f"over {args.steps} batches of {config.training.batch_size}"
    )
    cancel = CancelToken()
    with StopOnSignals(cancel) as stop:
        try:
            sweep = find_learning_rate(
                config, dataset=dataset, start=args.start, end=args.end, steps=args.steps, cancel=cancel
            )
        except Cancelled:
            err("layerlab-cli: lr-find stopped")
            return stop.exit_code()
    if args.json:
        out(json.dumps({"suggested_lr": sweep.suggested_lr, "lrs": sweep.lrs, "losses": sweep.losses}))
        return EXIT_OK
    out(f"{'lr':>10}  smoothed loss")
    for lr, loss in list(zip(sweep.lrs, sweep.losses))[:: max(1, len(sweep.lrs) // 20)]:
        out(f"{lr:>10.2e}  {fmt(loss)}")
    ended = "the loss exploded there" if sweep.stopped_early else "the end of the sweep"
    out(
        f"suggested learning rate: {sweep.suggested_lr:.2e} (a tenth of the rate at the lowest loss; swept to "
        f"{sweep.lrs[-1]:.2e}, {ended})"
    )
    return EXIT_OK
