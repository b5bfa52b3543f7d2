"""Checkpoint cost, and what the deterministic switch costs.

1. The time a training spends capturing and writing its checkpoints, as a share of its training
   time, with the default checkpointing (every finished epoch's state captured, written atomically
   and fsync'ed within a 3 % time budget; always at the end): a tiny model with sub-second epochs
   (checkpoints then written every few epochs, as the budget allows), a small CNN and a backbone
   trained end to end. Training time runs from the first epoch's start to the last epoch's end
   (`Started` → last `EpochEnd`); the checkpoint time is the trainer's own measure of its
   checkpoint work (`TrainResult.checkpoint_seconds`: copying the state to NumPy after every
   epoch, and the writes); one write is also timed alone. Goal: ≤ 3 % of training time.
2. The cost of `training.deterministic` (TensorFlow's op determinism), for the window's tooltip:
   the time ratio of alternating runs with and without it, same data and seed.

    python -m benchmarks.checkpoints [--long] [--no-determinism] [--pairs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import Results, add_arguments, settings_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TITLE = "Checkpoint cost, and the deterministic switch"
GOAL = 0.03
#: Smoke: every case at toy size (a few images, one epoch)...
SMOKE = {"data.limit": 48}

DISCUSSION = """Where epochs are shorter than the writes would allow, the time budget decides: the `mlp`
writes a checkpoint every few epochs, the last one at the end, and lands on the budget. On a CPU
the deterministic switch costs from a few per cent to about half again with augmentation; on GPUs,
where some kernels have no deterministic variant, it can cost more. The window's Deterministic
check box says so in its tooltip."""

CASES = {
    # name: (settings, short epochs, long epochs)
    "digits / mlp (epochs ≈ 0.1 s)": ({"data.name": "digits", "arch.name": "mlp"}, 30, 60),
    "shapes 32 px / cifar_cnn, 3000 images": (
        {"data.name": "shapes", "arch.name": "cifar_cnn", "arch.dropout": False},
        6,
        12,
    ),
    "shapes 64 px / MobileNetV2 (weights none, all trainable), 600 images": (
        {
            "data.name": "shapes",
            "data.image_size": 64,
            "data.limit": 600,
            "arch.name": "mobilenet_v2",
            "arch.weights": "none",
            "arch.freeze_base": False,
            "arch.head_units": 128,
        },
        3,
        6,
    ),
}


#: ...but the backbone's, whose settings are only checked: tracing its train step alone takes half a
#: minute on two cores, and it takes the same path as the others.
SMOKE_CHECKED_ONLY = ("shapes 64 px / MobileNetV2 (weights none, all trainable), 600 images",)


def check_settings(settings: dict) -> None:
    """The case's configuration is valid (an unknown or ill-typed setting raises)."""
    from engine.config import ExperimentConfig

    ExperimentConfig().updated(**settings)


def measure(settings: dict, epochs: int, folder: Path) -> dict:
    from engine.config import ExperimentConfig
    from engine.core.events import CheckpointSaved, EpochEnd, Started
    from engine.datasets import load_dataset
    from engine.runs.checkpoints import latest_checkpoint, read_checkpoint, write_checkpoint
    from engine.training.trainer import train

    config = ExperimentConfig().updated(**(settings | {"training.epochs": epochs, "training.batch_size": 32}))
    dataset = load_dataset(config.data, seed=0)
    marks: dict = {"written": 0}

    def observer(event) -> None:
        if isinstance(event, Started):
            marks["start"] = time.perf_counter()
        elif isinstance(event, EpochEnd):
            marks["end"] = time.perf_counter()
        elif isinstance(event, CheckpointSaved):
            marks["written"] += 1

    result = train(config, observer, dataset=dataset, run_dir=folder / "run")
    assert result.failed is None, result.failed
    training = marks["end"] - marks["start"]
    kept = latest_checkpoint(folder / "run")
    state = read_checkpoint(kept)
    t0 = time.perf_counter()
    write_checkpoint(folder / "again", state)
    one_write = time.perf_counter() - t0
    return {
        "epochs": epochs,
        "training_s": training,
        "checkpoint_s": result.checkpoint_seconds,
        "share": result.checkpoint_seconds / training,
        "writes": marks["written"],
        "one_write_s": one_write,
        "size_mb": kept.path.stat().st_size / 2**20,
        "epoch_s": training / epochs,
    }


def determinism_cost(pairs: int, folder: Path, smoke: bool) -> list[dict]:
    """Seconds of the same training with and without op determinism, alternated, per case."""
    from engine.config import ExperimentConfig
    from engine.datasets import load_dataset
    from engine.training.trainer import train

    cases = {
        "shapes 32 px / cifar_cnn, 3000 images, 2 epochs": {"data.name": "shapes", "arch.name": "cifar_cnn"},
        "same + augmentation (rotation 0.1, zoom 0.1)": {
            "data.name": "shapes",
            "arch.name": "cifar_cnn",
            "augmentation.rotation": 0.1,
            "augmentation.zoom": 0.1,
        },
    }
    if smoke:  # the case with augmentation goes through everything the other does
        cases = dict(list(cases.items())[1:])
    rows = []
    for label, settings in cases.items():
        settings = settings | {"training.epochs": 1 if smoke else 2, "training.batch_size": 32}
        config = ExperimentConfig().updated(**(settings | (SMOKE if smoke else {})))
        dataset = load_dataset(config.data, seed=0)
        if not smoke:  # warm-up: first-use costs paid by neither side
            train(config.updated(**{"training.epochs": 1}), dataset=dataset, run_dir=folder / "warm")
        ratios, times = [], {"plain": [], "deterministic": []}
        for pair in range(pairs):
            for name, deterministic in (("plain", False), ("deterministic", True)):
                t0 = time.perf_counter()
                result = train(
                    config.updated(**{"training.deterministic": deterministic}),
                    dataset=dataset,
                    run_dir=folder / f"{name}{pair}",
                )
                assert result.failed is None, result.failed
                times[name].append(time.perf_counter() - t0)
            ratios.append(times["deterministic"][-1] / times["plain"][-1])
        rows.append(
            {
                "case": label,
                "plain_s": sorted(times["plain"])[pairs // 2],
                "deterministic_s": sorted(times["deterministic"])[pairs // 2],
                "ratio": sorted(ratios)[pairs // 2],
                "ratios": ratios,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="twice the epochs")
    parser.add_argument("--no-determinism", action="store_true", help="skip the determinism cost")
    parser.add_argument("--determinism-only", action="store_true", help="only the determinism cost")
    parser.add_argument("--pairs", type=int, default=3, help="determinism: alternating pairs (default: 3)")
    args = add_arguments(parser).parse_args(argv)
    if args.smoke:
        args.pairs = 1
    from engine.runtime.devices import device_name

    results = Results("checkpoints", TITLE, smoke=args.smoke, settings=settings_of(args))
    results.settings["device"] = device_name()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.determinism_only:
            checkpoint_share(args, Path(tmp), results)
        if not args.no_determinism:
            determinism_share(args, Path(tmp) / "det", results)
    results.write(args.json)
    return 0


def checkpoint_share(args: argparse.Namespace, folder: Path, results: Results) -> None:
    """The checkpoint table: one training per case."""
    rows, shares = [], []
    for i, (label, (settings, short, long)) in enumerate(CASES.items()):
        epochs = 1 if args.smoke else long if args.long else short
        if args.smoke and label in SMOKE_CHECKED_ONLY:
            check_settings(settings | {"training.epochs": epochs})
            continue
        row = measure(settings | (SMOKE if args.smoke else {}), epochs, folder / f"c{i}")
        results.figure(
            f"{label}: checkpoint share",
            row["share"],
            f"{label}: {row['epochs']} epochs, {row['epoch_s']:.2f} s/epoch, training {row['training_s']:.1f} s, "
            f"checkpoints {row['checkpoint_s']:.3f} s ({row['share']:.1%}), {row['writes']} writes, "
            f"one write {row['one_write_s'] * 1000:.0f} ms, {row['size_mb']:.1f} MB",
        )
        rows.append(
            [
                label,
                row["epochs"],
                row["epoch_s"],
                row["training_s"],
                row["checkpoint_s"],
                f"{row['share']:.1%}",
                row["writes"],
                f"{row['one_write_s'] * 1000:.0f} ms",
                f"{row['size_mb']:.1f} MB",
            ]
        )
        shares.append(f"{label} {row['share']:.1%}, {'met' if row['share'] <= GOAL else 'missed'}")
    columns = ["case", "epochs", "s / epoch", "training (s)", "checkpoints (s)", "share", "writes", "one write", "size"]
    results.table("checkpoint time as a share of training time (one training per case)", columns, rows, show=True)
    results.note(f"Goal, checkpoints ≤ {GOAL:.0%} of training time: " + "; ".join(shares) + ".")


def determinism_share(args: argparse.Namespace, folder: Path, results: Results) -> None:
    """The determinism table: alternating pairs per case."""
    determinism = determinism_cost(args.pairs, folder, args.smoke)
    for row in determinism:
        results.figure(
            f"{row['case']}: deterministic / plain",
            row["ratio"],
            f"determinism, {row['case']}: plain {row['plain_s']:.1f}s, deterministic "
            f"{row['deterministic_s']:.1f}s, ratio {row['ratio']:.3f} ({', '.join(f'{r:.3f}' for r in row['ratios'])})",
        )
    results.table(
        f"`training.deterministic`: median of {args.pairs} alternating pairs, same data and seed",
        ["case", "plain (s)", "deterministic (s)", "ratio (median)", "pairs"],
        [
            [r["case"], r["plain_s"], r["deterministic_s"], r["ratio"], ", ".join(f"{x:.3f}" for x in r["ratios"])]
            for r in determinism
        ],
        show=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
