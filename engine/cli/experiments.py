"""`layerlab-cli compare` and `layerlab-cli grid`: runs side by side, and ablation grids.

`compare RUN RUN... [--json]` reads run folders only (no TensorFlow). `grid` takes every option
of `train` plus `--vary KEY=V1,V2` (repeatable), `--repeats N` and `--grid-dir DIR`; it checks
the whole grid (every cell's config and the data) before TensorFlow starts, prints per-run
progress on stderr and the table (or one JSON object) on stdout. SIGINT/SIGTERM stop it like
`train`: the runs in flight are saved, the grid folder keeps the finished runs, and
`layerlab-cli grid --grid-dir DIR` resumes it (on any executor); the exit code is 128 + the
signal's number.

`--executor local|ray|ray://HOST:PORT [--workers N]` says where the runs train: in this process,
one after another (the default); on this machine's own Ray instance, N at once; or on the Ray
cluster at that client address (engine.experiments.executors).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine import (
    CancelToken,
    ConfigError,
    GridRow,
    GridSpec,
    best_row,
    cell_config,
    check_spec,
    compare_runs,
    ensure_same_grid,
    grid_cells,
    grid_executor,
    grid_file,
    load_dataset,
    load_grid,
    parse_vary,
    run_grid,
    settings_label,
)
from engine.cli.common import EXIT_FAILED, EXIT_OK, StopOnSignals, err, fmt, out, printable, start_tensorflow
from engine.cli.options import add_model_options, add_training_options, config_from_args, given_options
from engine.cli.progress import GridProgress, fmt_seconds


def add_commands(sub: Any) -> None:
    compare = sub.add_parser("compare", help="runs side by side: final figures and the settings that differ")
    compare.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="two or more run folders")
    compare.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    compare.set_defaults(handler=cmd_compare)

    grid = sub.add_parser("grid", help="an ablation grid: every combination of --vary values, repeated with new seeds")
    add_model_options(grid)
    add_training_options(grid)
    g = grid.add_argument_group("grid")
    g.add_argument(
        "--vary",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="a setting and its values, e.g. arch.dropout=0,0.5 or arch.batchnorm=on,off (repeatable)",
    )
    g.add_argument(
        "--repeats", type=int, default=1, metavar="N", help="runs per combination, seeds seed..seed+N-1 (default: 1)"
    )
    g.add_argument(
        "--grid-dir",
        type=Path,
        metavar="DIR",
        help="the grid's folder (default: a new one beside the runs); an existing grid there resumes",
    )
    g.add_argument(
        "--executor",
        default="local",
        metavar="local|ray|ray://HOST:PORT",
        help="where the runs train: local (this process, one after another; the default), ray (many at once "
        "on this machine, each in its own process) or ray://HOST:PORT (a Ray cluster); Ray needs the ray extra",
    )
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="runs at once on Ray (default: one per GPU, else one per core)",
    )
    grid.add_argument("--json", action="store_true", help="print one JSON object with the rows on stdout")
    grid.set_defaults(handler=cmd_grid)


# --- compare ---------------------------------------------------------------------------------------
def cmd_compare(args: argparse.Namespace) -> int:
    if len(args.runs) < 2:
        raise ConfigError("compare needs two or more run folders")
    comparison = compare_runs(args.runs)
    if args.json:
        out(json.dumps({"runs": [asdict(row) for row in comparison.runs], "differences": comparison.differences}))
        return EXIT_OK
    width = max(len(row.label) for row in comparison.runs)
    out(
        f"{'#':>2}  {'run':{width}}  {'val_acc':>7}  {'val_loss':>8}  {'test_acc':>8}  {'test_loss':>9}  "
        f"{'epochs':>6}  {'seconds':>7}  {'trainable':>11}"
    )
    for i, row in enumerate(comparison.runs, 1):
        params = f"{row.trainable_params:,}" if row.trainable_params is not None else "n/a"
        seconds = f"{row.seconds:.1f}" if row.seconds is not None else "n/a"
        out(
            f"{i:>2}  {row.label:{width}}  {fmt(row.val_accuracy):>7}  {fmt(row.val_loss):>8}  "
            f"{fmt(row.test_accuracy):>8}  {fmt(row.test_loss):>9}  {row.epochs_run:>6}  {seconds:>7}  {params:>11}"
        )
    out("settings that differ:" if comparison.differences else "the runs' settings are the same")
    for key, values in comparison.differences.items():
        out(f"  {key}: {' | '.join(json.dumps(v) for v in values)}")
    for i, row in enumerate(comparison.runs, 1):
        out(f"{i:>2}  {printable(row.run_dir)}")
    return EXIT_OK


# --- grid ----------------------------------------------------------------------------------------
def cmd_grid(args: argparse.Namespace) -> int:
    executor = grid_executor(args.executor, args.workers)
    spec = _grid_spec(args)
    _check_data(spec)
    start_tensorflow()
    cancel = CancelToken()
    progress = GridProgress(spec.repeats)
    if args.executor != "local":
        err(f"grid: training {executor.describe()}")
    with StopOnSignals(cancel) as stop:
        result = run_grid(spec, progress, cancel, grid_dir=args.grid_dir, executor=executor)
    if args.json:
        out(json.dumps({"grid_dir": str(result.grid_dir), "rows": [asdict(row) for row in result.rows]}))
    else:
        _print_table(result.rows, result.grid_dir)
    if stop.received is not None:
        err(
            f"layerlab-cli: grid stopped by {stop.signal_name()} after {progress.finished} run(s); "
            f"the finished runs are kept: resume with layerlab-cli grid --grid-dir {printable(result.grid_dir)}"
        )
        return stop.exit_code()
    if result.failed_runs:
        err(f"layerlab-cli: {result.failed_runs} run(s) of the grid failed; the table leaves them out")
        return EXIT_FAILED
    return EXIT_OK


def _grid_spec(args: argparse.Namespace) -> GridSpec:
    """The grid the options describe, or the one stored in --grid-dir when only that is given."""
    factors = tuple(parse_vary(text) for text in args.vary)
    resuming = args.grid_dir is not None and grid_file(args.grid_dir).exists()
    if resuming and not factors:
        if given_options(args):
            raise ConfigError(
                "to resume a grid give --grid-dir alone (its settings are in grid.json), "
                "or every option it was started with"
            )
        return load_grid(args.grid_dir)[0]
    if not factors:
        raise ConfigError("a grid needs at least one --vary KEY=V1,V2 (e.g. --vary arch.dropout=0,0.5)")
    if args.repeats < 1:
        raise ConfigError(f"--repeats must be at least 1, not {args.repeats}")
    spec = GridSpec(config_from_args(args), factors, args.repeats)
    check_spec(spec)
    if resuming:  # the same grid, or a refusal now rather than after TensorFlow started
        ensure_same_grid(load_grid(args.grid_dir)[0], spec, args.grid_dir)
    return spec


def _check_data(spec: GridSpec) -> None:
    """Load each distinct dataset of the grid once before TensorFlow starts: a bad file or a
    missing test split fails in a second, not after the first runs."""
    seen: set[str] = set()
    for settings in grid_cells(spec):
        data = cell_config(spec, settings).data
        key = data.model_dump_json()
        if key in seen:
            continue
        seen.add(key)
        dataset = load_dataset(data, seed=spec.base.training.seed)
        if dataset.skipped:
            err(f"skipped {len(dataset.skipped)} file(s) of {printable(data.name)} that are not readable images")


def _print_table(rows: list[GridRow], grid_dir: Path) -> None:
    best = best_row(rows)
    labels = [settings_label(row.settings) for row in rows]
    width = max([len("settings"), *map(len, labels)])
    out(
        f"{'settings':{width}}  {'runs':>4}  {'val_acc (mean ± std)':>20}  {'test_acc (mean ± std)':>21}  {'s/run':>6}  mark"
    )
    for i, (row, label) in enumerate(zip(rows, labels)):
        mark = "best" if i == best else {True: "worse (p<0.05)", False: "", None: ""}[row.significantly_worse_than_best]
        out(
            f"{label:{width}}  {len(row.run_dirs):>4}  {_mean_std(row.val_accuracy_mean, row.val_accuracy_std):>20}  "
            f"{_mean_std(row.test_accuracy_mean, row.test_accuracy_std):>21}  {fmt_seconds(row.seconds_mean):>6}  {mark}"
        )
    out(f"grid folder: {printable(grid_dir)}")


def _mean_std(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.4f} ± {std:.4f}" if std is not None else f"{mean:.4f}"
