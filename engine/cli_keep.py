"""`layerlab-cli train --resume`, `export` and `lr-find` (issue 12): keep and ship what you train.

`train --resume RUN_DIR [--epochs TOTAL]` goes on with a run from its last complete epoch (its
latest checkpoint) with the run's own settings; `--epochs` sets a new planned total (a finished
run continues). `export RUN --format keras|savedmodel|tflite|onnx [--quantize float16|int8]
--out PATH [--json]` writes a verified export (engine.export) and prints `{"path", "format",
"agreement", "max_abs_diff", "size_bytes"}`. `lr-find --dataset D --arch A [options] [--json]`
sweeps the learning rate (engine.training.lr_finder) and prints `{"suggested_lr", "lrs",
"losses"}`. As everywhere in the CLI, what can be checked before TensorFlow starts is checked
first, and a mistake is one line on stderr with exit code 2; an export that does not agree with
its model exits 1.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from engine.cli import EXIT_FAILED, EXIT_OK, StopOnSignals, _err, _fmt, _out, _printable, _start_tensorflow, config_from_args
from engine.errors import ConfigError

AddOptions = Callable[[argparse.ArgumentParser], None]


def add_keep_commands(sub: Any, add_model_options: AddOptions, add_training_options: AddOptions) -> None:
    export = sub.add_parser("export", help="export a run's model (keras, savedmodel, tflite, onnx), verified")
    export.add_argument("run", type=Path, help="run folder")
    export.add_argument("--format", required=True, choices=("keras", "savedmodel", "tflite", "onnx"))
    export.add_argument("--quantize", choices=("float16", "int8"), help="tflite only: float16 weights, or int8")
    export.add_argument("--out", type=Path, required=True, help="a new folder for the model and its companions")
    export.add_argument("--samples", type=int, default=200, help="validation images to compare on (default: 200)")
    export.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    export.set_defaults(handler=cmd_export)

    finder = sub.add_parser("lr-find", help="the learning-rate finder: loss against an exponentially growing rate")
    add_model_options(finder)
    add_training_options(finder)
    s = finder.add_argument_group("sweep")
    s.add_argument("--start", type=float, default=1e-7, help="first rate (default: 1e-7)")
    s.add_argument("--end", type=float, default=10.0, help="last rate (default: 10)")
    s.add_argument("--steps", type=int, default=100, help="batches, one rate each (default: 100)")
    finder.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    finder.set_defaults(handler=cmd_lr_find)


# --- train --resume ---------------------------------------------------------------------------
def resume_config(args: argparse.Namespace) -> Any:
    """The config `train --resume RUN_DIR` goes on with: the run's own, with `--epochs` as the
    new planned total. Refuses other settings, a run without a checkpoint, and a run that already
    has every planned epoch, before TensorFlow starts."""
    from engine.cli_experiments import _given_options
    from engine.checkpoint_files import latest_checkpoint
    from engine.config import planned_epochs, with_total_epochs
    from engine.runs import load_run

    others = [name for name in _given_options(args) if name != "training.epochs"]
    if others or args.out is not None:
        raise ConfigError("--resume goes on with the run's own settings (its config.json); only --epochs TOTAL "
                          f"may be given with it, not {others[0] if others else '--out'}")
    run = load_run(args.resume)
    latest = latest_checkpoint(run.path)
    if latest is None:
        raise ConfigError(f"{_printable(run.path)} has no checkpoint to resume from: it stopped before its first "
                          "epoch ended, or was trained before LayerLab kept checkpoints")
    config = run.config
    total = getattr(args, "training.epochs")
    if total is not None:
        config = with_total_epochs(config, total)
    if planned_epochs(config) <= latest.epoch + 1:
        raise ConfigError(f"{_printable(run.path)} already has {latest.epoch + 1} complete epochs of the "
                          f"{planned_epochs(config)} planned; give --epochs TOTAL with a larger total to continue it")
    args.out = run.path
    return config


def resume_line(event: Any) -> str:
    done = event.from_epoch
    note = f" ({event.note})" if event.note else ""
    return f"resuming at epoch {done + 1}/{event.epochs}: the {done} epoch{'s' if done != 1 else ''} before are kept{note}"


# --- export -------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from engine.cancel import CancelToken
    from engine.errors import ExportError
    from engine.export import check_export, export_run

    if args.samples < 1:
        raise ConfigError(f"--samples must be at least 1, not {args.samples}")
    check_export(args.run, args.format, args.out, args.quantize)   # before TensorFlow starts
    _start_tensorflow()
    cancel = CancelToken()
    with StopOnSignals(cancel) as stop:
        try:
            report = export_run(args.run, args.format, args.out, quantize=args.quantize, samples=args.samples,
                                cancel=cancel)
        except InterruptedError:
            _err("layerlab-cli: export stopped; nothing was written")
            return 128 + (stop.received or 2)
        except ExportError as err:
            _err(f"layerlab-cli: export failed: {err}")
            return EXIT_FAILED
    if args.json:
        _out(json.dumps({"path": report.path, "format": report.format, "agreement": report.agreement,
                         "max_abs_diff": report.max_abs_diff, "size_bytes": report.size_bytes}))
    else:
        quantized = f" ({report.quantize})" if report.quantize else ""
        _out(f"{report.format}{quantized}: {_printable(report.path)}  {report.size_bytes:,} bytes  agreement "
             f"{report.agreement:.1%} on {report.samples} images  max |Δp| {report.max_abs_diff:.2e}")
    if report.note:
        _err(f"note: {report.note}")
    return EXIT_OK


# --- lr-find ------------------------------------------------------------------------------------
def cmd_lr_find(args: argparse.Namespace) -> int:
    from engine.cancel import CancelToken
    from engine.datasets import load_dataset

    config = config_from_args(args)
    if not (0 < args.start < args.end) or args.steps < 5:
        raise ConfigError("lr-find needs 0 < --start < --end and --steps of at least 5")
    dataset = load_dataset(config.data, seed=config.training.seed)   # before TensorFlow: bad data fails fast
    _start_tensorflow()
    from engine.training.lr_finder import find_learning_rate

    _err(f"sweeping the learning rate of {config.arch.name} on {dataset.name} from {args.start:g} to {args.end:g} "
         f"over {args.steps} batches of {config.training.batch_size}")
    cancel = CancelToken()
    with StopOnSignals(cancel) as stop:
        try:
            sweep = find_learning_rate(config, dataset=dataset, start=args.start, end=args.end, steps=args.steps,
                                       cancel=cancel)
        except InterruptedError:
            _err("layerlab-cli: lr-find stopped")
            return 128 + (stop.received or 2)
    if args.json:
        _out(json.dumps({"suggested_lr": sweep.suggested_lr, "lrs": sweep.lrs, "losses": sweep.losses}))
        return EXIT_OK
    _out(f"{'lr':>10}  smoothed loss")
    for lr, loss in list(zip(sweep.lrs, sweep.losses))[:: max(1, len(sweep.lrs) // 20)]:
        _out(f"{lr:>10.2e}  {_fmt(loss)}")
    ended = "the loss exploded there" if sweep.stopped_early else "the end of the sweep"
    _out(f"suggested learning rate: {sweep.suggested_lr:.2e} (a tenth of the rate at the lowest loss; swept to "
         f"{sweep.lrs[-1]:.2e}, {ended})")
    return EXIT_OK


def add_schedule_options(group: Any, option: Callable[..., None]) -> None:
    """The schedule and determinism flags of `train`, `grid` and `lr-find` (`option` is cli._option)."""
    from engine.config import SCHEDULES

    option(group, "--schedule", "training.schedule", "learning-rate schedule, per epoch", choices=SCHEDULES)
    option(group, "--warmup-epochs", "training.warmup_epochs", "linear warm-up over the first N epochs", type=int)
    option(group, "--step-every", "training.step_every", "step schedule: decay every N epochs", type=int)
    option(group, "--step-factor", "training.step_factor", "step schedule: multiply the rate by this", type=float)
    option(group, "--deterministic", "training.deterministic",
           "TensorFlow's op determinism: the same seed gives the same history (slower)", action="store_const", const=True)
