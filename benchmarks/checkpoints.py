"""Checkpoint cost: the time a training spends capturing and writing its checkpoints, as a share
of its training time (goal ≤ 3 %), for a tiny model with sub-second epochs (checkpoints then
written every few epochs, by the time budget), a small CNN and a backbone trained end to end.

Training time runs from the first epoch's start to the last epoch's end (`Started` → last
`EpochEnd`); the checkpoint time is what the trainer measured around its own checkpoint work
(`TrainResult.checkpoint_seconds`: copying the state to NumPy after every epoch, and the
fsync'ed atomic writes); one write is also timed alone. Also: the cost of the deterministic
switch (TensorFlow's op determinism), as the time ratio of alternating runs with and without it.

    python -m benchmarks.checkpoints [--long] [--no-determinism]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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


def determinism_cost(pairs: int, folder: Path) -> list[dict]:
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
    rows = []
    for label, settings in cases.items():
        config = ExperimentConfig().updated(**(settings | {"training.epochs": 2, "training.batch_size": 32}))
        dataset = load_dataset(config.data, seed=0)
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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="twice the epochs")
    parser.add_argument("--no-determinism", action="store_true", help="skip the determinism cost")
    parser.add_argument("--pairs", type=int, default=3, help="determinism: alternating pairs (default: 3)")
    args = parser.parse_args(argv)
    from engine.runtime.devices import device_name

    rows = {}
    print(f"device: {device_name()}", flush=True)
    print(
        f"{'case':72} {'epochs':>6} {'s/epoch':>8} {'training':>9} {'checkpoints':>11} {'share':>6} "
        f"{'writes':>6} {'one write':>9} {'size':>8}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, (settings, short, long)) in enumerate(CASES.items()):
            row = measure(settings, long if args.long else short, Path(tmp) / f"c{i}")
            rows[label] = row
            print(
                f"{label:72} {row['epochs']:>6} {row['epoch_s']:>7.2f}s {row['training_s']:>8.1f}s "
                f"{row['checkpoint_s']:>10.3f}s {row['share']:>6.1%} {row['writes']:>6} "
                f"{row['one_write_s'] * 1000:>7.0f}ms {row['size_mb']:>6.1f}MB",
                flush=True,
            )
        if not args.no_determinism:
            print("determinism (TensorFlow's op determinism) cost, median of alternating pairs:", flush=True)
            for row in determinism_cost(args.pairs, Path(tmp) / "det"):
                rows[row["case"]] = row
                print(
                    f"  {row['case']:52} plain {row['plain_s']:.1f}s  deterministic {row['deterministic_s']:.1f}s  "
                    f"ratio {row['ratio']:.3f}  ({', '.join(f'{r:.3f}' for r in row['ratios'])})",
                    flush=True,
                )
    return rows


if __name__ == "__main__":
    main()
