"""`layerlab-cli datasets`, `architectures`, `summary`, `runs` and `cache`: what there is to work with.

All but `summary` read files and registries only (no TensorFlow); `summary` builds the model to
count its parameters.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from typing import Any

from engine import (
    RunSummary,
    build_model,
    cache_root,
    cache_usage,
    clear_caches,
    format_bytes,
    list_architectures,
    list_datasets,
    list_runs,
    load_dataset,
)
from engine.cli.common import EXIT_OK, fmt, one_line, out, printable, start_tensorflow
from engine.cli.options import add_model_options, config_from_args


def add_commands(sub: Any) -> None:
    datasets = sub.add_parser("datasets", help="list datasets")
    datasets.add_argument("--json", action="store_true")
    datasets.set_defaults(handler=cmd_datasets)
    archs = sub.add_parser("architectures", help="list architectures")
    archs.add_argument("--json", action="store_true")
    archs.set_defaults(handler=cmd_architectures)
    summary = sub.add_parser("summary", help="the layer table of an architecture on a dataset")
    add_model_options(summary)
    summary.add_argument("--json", action="store_true")
    summary.set_defaults(handler=cmd_summary)
    runs = sub.add_parser("runs", help="list saved runs (broken ones with their problem)")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(handler=cmd_runs)
    cache = sub.add_parser("cache", help="the disk caches (decoded images, frozen features): their size, or clear them")
    cache.add_argument("--clear", action="store_true", help="delete the caches (they only save work)")
    cache.add_argument("--json", action="store_true")
    cache.set_defaults(handler=cmd_cache)


def cmd_datasets(args: argparse.Namespace) -> int:
    infos = list_datasets()
    if args.json:
        out(
            json.dumps(
                [{"name": i.name, "description": i.description, "needs_download": i.needs_download} for i in infos]
            )
        )
    else:
        for i in infos:
            out(f"{i.name:16} {i.description}{'  (download)' if i.needs_download else ''}")
    return EXIT_OK


def cmd_architectures(args: argparse.Namespace) -> int:
    infos = list_architectures(task=None)
    if args.json:
        out(json.dumps([{"name": i.name, "description": i.description, "kind": i.kind} for i in infos]))
    else:
        for i in infos:
            out(f"{i.name:17} {i.kind:11} {i.description}")
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    dataset = load_dataset(config.data, seed=0)
    start_tensorflow()
    # TensorFlow: only once the cheap checks have passed
    # TensorFlow: imported here, so importing this module stays cheap
    from engine import apply_freezing, layer_table, param_counts

    model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
    apply_freezing(model, config.layer_trainable, config.freeze_all_but)
    table = layer_table(model)
    trainable, frozen = param_counts(model)
    if args.json:
        out(
            json.dumps(
                {"layers": [vars(row) for row in table], "trainable_params": trainable, "non_trainable_params": frozen}
            )
        )
        return EXIT_OK
    out(f"{'layer':28} {'kind':22} {'output':16} {'params':>11}  trainable")
    for row in table:
        out(f"{row.name:28} {row.kind:22} {row.output_shape:16} {row.params:>11,}  {'yes' if row.trainable else 'no'}")
    out(f"trainable: {trainable:,}   non-trainable: {frozen:,}   total: {trainable + frozen:,}")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    freed = clear_caches() if args.clear else None
    usage = cache_usage()
    if args.json:
        document: dict[str, Any] = {
            "root": str(cache_root()),
            "caches": [
                {
                    "kind": u.kind,
                    "path": str(u.path),
                    "bytes": u.bytes,
                    "entries": u.entries,
                    "limit_bytes": u.limit_bytes,
                }
                for u in usage
            ],
        }
        if freed is not None:
            document["freed_bytes"] = freed
        out(json.dumps(document))
        return EXIT_OK
    if freed is not None:
        out(f"cleared the caches: {format_bytes(freed)} freed")
    for u in usage:
        unit = "images" if u.kind == "images" else "feature sets"
        out(
            f"{u.kind:9} {format_bytes(u.bytes):>10} of {format_bytes(u.limit_bytes):>10}  {u.entries:,} {unit}  "
            f"{printable(u.path)}"
        )
    return EXIT_OK


def run_line(summary: RunSummary) -> dict[str, Any]:
    """A run's JSON line: its summary without the whole config (which is the run's config.json)."""
    line = {f.name: getattr(summary, f.name) for f in fields(summary) if f.name != "config"}
    return {**line, "path": str(summary.path)}


def cmd_runs(args: argparse.Namespace) -> int:
    summaries = list_runs()
    if args.json:
        out(json.dumps([run_line(s) for s in summaries]))
        return EXIT_OK
    for s in summaries:
        if s.problem:
            out(f"{s.created:16}  BROKEN  {printable(s.path)}: {one_line(s.problem)}")
        else:
            test = f"test_acc {fmt(s.test_accuracy)}  " if s.test_accuracy is not None else ""
            out(
                f"{s.created}  {printable(s.dataset):14} {s.arch:14} epochs {s.epochs:3}  "
                f"val_acc {fmt(s.val_accuracy)}  {test}{printable(s.path)}"
            )
    return EXIT_OK
