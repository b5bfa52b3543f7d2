"""`layerlab-cli`: everything the window can do, headless.

User mistakes (bad flags, missing files, undecodable images, datasets that cannot load) end
with a one-line reason on stderr and a non-zero exit; never a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        self.exit(EXIT_USAGE, f"layerlab-cli: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="layerlab-cli", description="LayerLab without a window: train, classify, inspect.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a model and save a run folder")
    _add_model_options(train)
    t = train.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3, help="learning rate")
    t.add_argument("--optimizer", choices=["rmsprop", "adam", "sgd"], default="adam")
    t.add_argument("--momentum", type=float, default=0.9, help="sgd momentum")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--early-stopping", action="store_true", help="stop when validation loss stops improving")
    t.add_argument("--patience", type=int, default=3)
    t.add_argument("--stage2-epochs", type=int, default=0, help="staged fine-tuning: epochs after unfreezing")
    t.add_argument("--stage2-unfreeze", type=int, default=0, help="staged fine-tuning: unfreeze the last N frozen layers")
    t.add_argument("--stage2-lr-factor", type=float, default=0.1, help="staged fine-tuning: learning-rate multiplier")
    t.add_argument("--no-feature-cache", action="store_true", help="never train on cached features of a frozen prefix")
    t.add_argument("--mixed-precision", action="store_true", help="mixed_float16 (GPU)")
    t.add_argument("--xla", action="store_true", help="compile with XLA")
    a = train.add_argument_group("augmentation (training data only)")
    a.add_argument("--flip", choices=["none", "horizontal", "vertical", "both"], default="none")
    a.add_argument("--rotation", type=float, default=0.0, help="fraction of a full turn, e.g. 0.05")
    a.add_argument("--zoom", type=float, default=0.0)
    a.add_argument("--translation", type=float, default=0.0)
    a.add_argument("--contrast", type=float, default=0.0)
    train.add_argument("--out", type=Path, help="run folder to write (default: a new folder under the runs root)")
    train.add_argument("--json", action="store_true", help="print one JSON object with the results on stdout")

    classify = sub.add_parser("classify", help="classify images with a trained run")
    classify.add_argument("model", type=Path, help="run folder or its model.keras")
    classify.add_argument("images", type=Path, nargs="+")
    classify.add_argument("--top", type=int, default=3)
    classify.add_argument("--json", action="store_true")

    datasets = sub.add_parser("datasets", help="list datasets")
    datasets.add_argument("--json", action="store_true")
    archs = sub.add_parser("architectures", help="list architectures")
    archs.add_argument("--json", action="store_true")
    summary = sub.add_parser("summary", help="the layer table of an architecture on a dataset")
    _add_model_options(summary)
    summary.add_argument("--json", action="store_true")
    runs = sub.add_parser("runs", help="list saved runs")
    runs.add_argument("--json", action="store_true")
    return parser


def _add_model_options(p: argparse.ArgumentParser) -> None:
    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="digits", help="digits, shapes, mnist, fashion_mnist, cifar10, cifar100, folder:PATH, npz:PATH")
    d.add_argument("--val-split", type=float, default=0.2)
    d.add_argument("--image-size", type=int, help="square image side for shapes/folder data")
    d.add_argument("--limit", type=int, help="use at most N training samples")
    m = p.add_argument_group("architecture")
    m.add_argument("--arch", default="mlp")
    drop = m.add_mutually_exclusive_group()
    drop.add_argument("--dropout", type=float, metavar="RATE", help="dropout on, with this rate")
    drop.add_argument("--no-dropout", action="store_true")
    bn = m.add_mutually_exclusive_group()
    bn.add_argument("--batchnorm", dest="batchnorm", action="store_true", default=None)
    bn.add_argument("--no-batchnorm", dest="batchnorm", action="store_false")
    m.add_argument("--activation", choices=["relu", "leaky_relu", "elu", "tanh", "sigmoid", "swish"], default="relu")
    m.add_argument("--weights", default="imagenet", help="backbones: imagenet, none or a weights file")
    m.add_argument("--pooling", choices=["avg", "flatten"], default="avg", help="backbones: head pooling")
    m.add_argument("--head-units", type=int, default=256, help="backbones: units of the head's Dense layer")
    m.add_argument("--no-freeze-base", action="store_true", help="backbones: train the whole base")
    m.add_argument("--fine-tune-last", type=int, default=0, help="backbones: unfreeze the base's last N layers")
    f = p.add_argument_group("freezing")
    f.add_argument("--freeze", nargs="+", default=[], metavar="LAYER", help="freeze these layers")
    f.add_argument("--unfreeze", nargs="+", default=[], metavar="LAYER", help="make these layers trainable")
    f.add_argument("--freeze-all-but", type=int, metavar="N", help="freeze every layer but the last N with weights")
    f.add_argument("--init-from", metavar="RUN", help="start from the weights of a saved run (layers with the same names)")


def config_from_args(args: argparse.Namespace) -> Any:
    from engine.config import ExperimentConfig

    arch: dict[str, Any] = {
        "name": args.arch, "activation": args.activation, "weights": args.weights, "pooling": args.pooling,
        "head_units": args.head_units, "freeze_base": not args.no_freeze_base, "fine_tune_last": args.fine_tune_last,
    }
    if args.no_dropout:
        arch["dropout"] = False
    elif args.dropout is not None:
        arch.update(dropout=True, dropout_rate=args.dropout)
    if args.batchnorm is not None:
        arch["batchnorm"] = args.batchnorm
    if args.arch == "bn_cnn" and args.batchnorm is None:
        arch["batchnorm"] = True
    data = {"name": args.dataset, "val_split": args.val_split, "image_size": args.image_size, "limit": args.limit}
    layer_trainable = {name: False for name in args.freeze} | {name: True for name in args.unfreeze}
    config: dict[str, Any] = {"data": data, "arch": arch, "layer_trainable": layer_trainable,
                              "freeze_all_but": args.freeze_all_but, "init_from": args.init_from}
    if getattr(args, "command", "") == "train":
        config["training"] = {
            "optimizer": args.optimizer, "learning_rate": args.lr, "momentum": args.momentum, "batch_size": args.batch_size,
            "epochs": args.epochs, "seed": args.seed, "early_stopping": args.early_stopping, "patience": args.patience,
            "stage2_epochs": args.stage2_epochs, "stage2_unfreeze_last": args.stage2_unfreeze,
            "stage2_lr_factor": args.stage2_lr_factor, "feature_cache": not args.no_feature_cache,
            "mixed_precision": args.mixed_precision, "xla": args.xla,
        }
        config["augmentation"] = {"flip": args.flip, "rotation": args.rotation, "zoom": args.zoom,
                                  "translation": args.translation, "contrast": args.contrast}
    return ExperimentConfig.from_dict(config)


# --- commands ---------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from engine.cancel import CancelToken
    from engine.events import BatchEnd, EpochEnd, Failed, Started, StageChanged
    from engine.training import train

    def progress(event: Any) -> None:
        if isinstance(event, Started):
            cache = "on cached features" if event.feature_cache else "end to end"
            _err(f"training on {event.device}, {event.samples_train} train / {event.samples_val} validation samples, "
                 f"{event.trainable_params:,} of {event.total_params:,} parameters trainable, {cache}"
                 + (f" ({event.note})" if event.note and not event.feature_cache else ""))
            _err(f"run folder: {event.run_dir}")
        elif isinstance(event, EpochEnd):
            _err(f"epoch {event.epoch + 1}/{event.epochs}: loss {event.loss:.4f} acc {event.accuracy:.4f} "
                 f"val_loss {event.val_loss:.4f} val_acc {event.val_accuracy:.4f} ({event.seconds:.1f}s)")
        elif isinstance(event, StageChanged):
            _err(f"stage {event.stage}: {event.description}")
        elif isinstance(event, Failed):
            pass
        elif isinstance(event, BatchEnd):
            pass

    from engine.datasets import load_dataset

    dataset = load_dataset(config.data, seed=config.training.seed)
    if dataset.skipped:
        names = ", ".join(Path(path).name for path, _ in dataset.skipped[:5])
        more = f" and {len(dataset.skipped) - 5} more" if len(dataset.skipped) > 5 else ""
        _err(f"skipped {len(dataset.skipped)} file(s) that are not readable images: {names}{more}")
    cancel = CancelToken()
    try:
        result = train(config, progress, cancel, dataset=dataset, run_dir=args.out)
    except KeyboardInterrupt:
        cancel.cancel()
        raise
    if result.failed:
        _err(f"layerlab-cli: training failed: {result.failed}")
        if args.json:
            _out(json.dumps({"error": result.failed, "kind": result.failed_kind, "run_dir": str(result.run_dir or "")}))
        return EXIT_FAILED
    m = result.metrics
    summary = {
        "val_accuracy": m.get("val_accuracy"), "val_loss": m.get("val_loss"),
        "train_accuracy": m.get("train_accuracy"), "train_loss": m.get("train_loss"),
        "epochs_run": m.get("epochs_run"), "misclassified": m.get("misclassified_count"),
        "val_count": m.get("val_count"), "stopped_early": result.stopped_early, "cancelled": result.cancelled,
        "feature_cache": result.feature_cache_used, "run_dir": str(result.run_dir),
        "skipped_files": [{"path": path, "reason": reason} for path, reason in dataset.skipped],
    }
    if args.json:
        _out(json.dumps(summary, default=_json_safe))
    else:
        print(f"val_accuracy {_fmt(summary['val_accuracy'])}  val_loss {_fmt(summary['val_loss'])}  "
              f"misclassified {summary['misclassified']}/{summary['val_count']}  run {summary['run_dir']}")
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    from engine.errors import LayerLabError
    from engine.inference import Classifier

    classifier = Classifier.from_run(args.model)
    results: list[dict[str, Any]] = []
    for path in args.images:
        try:
            prediction = classifier.classify(path, top_k=args.top)
            results.append({"path": str(path), "top": [{"label": l, "probability": p} for l, p in prediction.top]})
        except LayerLabError as err:
            results.append({"path": str(path), "error": str(err)})
    if args.json:
        _out(json.dumps(results))
    else:
        for entry in results:
            if "error" in entry:
                print(f"{entry['path']}: error: {entry['error']}")
            else:
                tops = ", ".join(f"{t['label']} {t['probability']:.1%}" for t in entry["top"])
                print(f"{entry['path']}: {tops}")
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
            print(f"{i.name:16} {i.description}{'  (download)' if i.needs_download else ''}")
    return EXIT_OK


def cmd_architectures(args: argparse.Namespace) -> int:
    from engine.architectures import list_architectures

    infos = list_architectures()
    if args.json:
        _out(json.dumps([{"name": i.name, "description": i.description, "kind": i.kind} for i in infos]))
    else:
        for i in infos:
            print(f"{i.name:16} {i.kind:9} {i.description}")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from engine.architectures import build_model
    from engine.datasets import load_dataset
    from engine.layers import apply_freezing, layer_table, param_counts

    dataset = load_dataset(config.data, seed=0)
    model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
    apply_freezing(model, config.layer_trainable, config.freeze_all_but)
    table = layer_table(model)
    trainable, frozen = param_counts(model)
    if args.json:
        _out(json.dumps({"layers": [vars(row) for row in table], "trainable_params": trainable,
                          "non_trainable_params": frozen}))
        return EXIT_OK
    print(f"{'layer':28} {'kind':22} {'output':16} {'params':>11}  trainable")
    for row in table:
        print(f"{row.name:28} {row.kind:22} {row.output_shape:16} {row.params:>11,}  {'yes' if row.trainable else 'no'}")
    print(f"trainable: {trainable:,}   non-trainable: {frozen:,}   total: {trainable + frozen:,}")
    return EXIT_OK


def cmd_runs(args: argparse.Namespace) -> int:
    from engine.runs import list_runs

    summaries = list_runs()
    if args.json:
        _out(json.dumps([{**vars(s), "path": str(s.path)} for s in summaries], default=_json_safe))
    else:
        for s in summaries:
            print(f"{s.created}  {s.dataset:14} {s.arch:14} epochs {s.epochs:3}  val_acc {_fmt(s.val_accuracy)}  {s.path}")
    return EXIT_OK


COMMANDS = {"train": cmd_train, "classify": cmd_classify, "datasets": cmd_datasets,
            "architectures": cmd_architectures, "summary": cmd_summary, "runs": cmd_runs}


NEEDS_TENSORFLOW = {"train", "classify", "summary"}


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    from engine.errors import LayerLabError

    if args.command in NEEDS_TENSORFLOW:
        from engine.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    try:
        if getattr(args, "json", False):
            # Keras prints download progress on stdout: keep stdout for the one JSON document.
            _RESULTS[0] = sys.stdout
            with contextlib.redirect_stdout(sys.stderr):
                return COMMANDS[args.command](args)
        return COMMANDS[args.command](args)
    except LayerLabError as err:
        _err(f"layerlab-cli: error: {err}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("layerlab-cli: interrupted")
        return 130


_RESULTS: list = [None]  # where results go while stdout is redirected to stderr


def _out(text: str) -> None:
    """The command's result, on the stdout the command was started with."""
    print(text, file=_RESULTS[0] or sys.stdout, flush=True)


def _err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fmt(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    sys.exit(main())
