"""CapsNet and the denoising autoencoders on the digits (scikit-learn's 1 797 real 8×8 scans).

1. CapsNet against `bn_cnn`: each trained through `engine.training.train` (Adam 0.001, batch 64,
   the default 20 % validation split), per seed: validation accuracy, seconds, trainable
   parameters. CapsNet's kernels shrink to 3×3 at 8 px (128 primary capsules), routing 3
   iterations, reconstruction decoder on; `bn_cnn` with its batch normalisation (the preset's
   default). Goal: CapsNet within a few points of `bn_cnn`.
2. Denoising autoencoders: `conv_autoencoder` and `dense_autoencoder` trained with Gaussian noise
   of std σ (0..1 scale, clipped) on every training batch and, once and seeded, on the validation
   images; the mean squared error (0..1 pixels) of their reconstructions of the noisy validation
   images against the clean originals, beside the error of the noisy images themselves
   (`metrics.json`'s `reconstruction_error` and `noisy_input_error`). Goal: ratio < 1.

    python -m benchmarks.lesson_models [--seeds 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import Results, add_arguments, settings_of

TITLE = "CapsNet and the denoising autoencoders on the digits"
PARTS = ("classifiers", "denoisers")

DISCUSSION = """CapsNet's parameters are mostly its routing matrices (128 × 10 × 16 × 8) and its
reconstruction decoder. A run of it loads back in safe mode and classifies dropped images
(`tests/engine/test_capsnet.py`). On 8×8 digits the convolutional denoiser is at a disadvantage:
its two 2×2 poolings leave it a 2×2 code, coarse for such small images; on 28 px MNIST (the
lesson's data) its code is 7×7."""


def classifiers(seeds: int, epochs: int, limit: int | None, root: Path, results: Results) -> None:
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    rows = []
    summary: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    params: dict[str, int] = {}
    for arch in ("capsnet", "bn_cnn"):
        for seed in range(seeds):
            changes = {"arch.name": arch, "training.epochs": epochs, "training.seed": seed, "data.limit": limit}
            if arch == "bn_cnn":
                changes["arch.batchnorm"] = True  # the preset's own default, as the window and CLI apply it
            result = train(ExperimentConfig().updated(**changes), runs_root=root)
            m = result.metrics
            summary.setdefault(arch, []).append(m.val_accuracy)
            seconds.setdefault(arch, []).append(m.seconds)
            params[arch] = m.trainable_params
            print(
                f"{arch} seed {seed}: val accuracy {m.val_accuracy:.4f}, train {m.train_accuracy:.4f}, "
                f"{m.seconds:.1f} s, {m.trainable_params:,} trainable parameters",
                flush=True,
            )
            rows.append([arch, seed, m.val_accuracy, m.train_accuracy, m.seconds, m.trainable_params])
            result.model = None
    results.table(
        f"digits, {epochs} epochs, Adam 0.001, batch 64, 20 % validation",
        ["model", "seed", "val accuracy", "train accuracy", "seconds", "trainable parameters"],
        rows,
        show=True,
    )
    means = {}
    for arch, values in summary.items():
        means[arch] = statistics.mean(values)
        spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        results.figure(
            f"{arch}: mean validation accuracy",
            means[arch],
            f"{arch}: mean validation accuracy {means[arch]:.4f}{spread} over {len(values)} seeds",
        )
        if len(values) > 1:
            results.figure(f"{arch}: standard deviation", statistics.stdev(values))
    gap = 100 * (means["capsnet"] - means["bn_cnn"])
    time_ratio = statistics.mean(seconds["capsnet"]) / statistics.mean(seconds["bn_cnn"])
    results.note(
        f"CapsNet {means['capsnet']:.4f} against `bn_cnn` {means['bn_cnn']:.4f} mean validation accuracy over "
        f"{seeds} seed{'s' if seeds > 1 else ''}: {gap:+.2f} points (goal: within a few points), at "
        f"{time_ratio:.1f}× the time and {params['capsnet'] / params['bn_cnn']:.0f}× the trainable parameters."
    )


def denoisers(epochs: int, limit: int | None, noises: Sequence[float], root: Path, results: Results) -> None:
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    rows = []
    for arch in ("conv_autoencoder", "dense_autoencoder"):
        for noise in noises:
            changes = {
                "task": "autoencoder",
                "arch.name": arch,
                "arch.noise": noise,
                "training.epochs": epochs,
                "data.limit": limit,
            }
            m = train(ExperimentConfig().updated(**changes), runs_root=root).metrics
            ratio = m.reconstruction_error / m.noisy_input_error
            results.figure(
                f"{arch} σ {noise}: error ratio",
                ratio,
                f"{arch} σ {noise}: reconstruction error {m.reconstruction_error:.4f}, noisy inputs' own "
                f"{m.noisy_input_error:.4f}, ratio {ratio:.2f}, {m.seconds:.1f} s",
            )
            rows.append([arch, noise, m.reconstruction_error, m.noisy_input_error, ratio, m.seconds])
    results.table(
        f"digits, {epochs} epochs, Adam 0.001, batch 64; mean squared error on the validation images",
        ["autoencoder", "noise σ", "reconstruction error (noisy in)", "noisy inputs' own error", "ratio", "seconds"],
        rows,
        show=True,
    )
    below = sum(row[4] < 1 for row in rows)
    results.note(f"{below} of {len(rows)} denoisers bring the noisy images closer to the clean ones (ratio < 1).")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--limit", type=int, help="training images (default: all the digits)")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.3, 0.5], help="the denoisers' noise σ")
    parser.add_argument(
        "--part", choices=PARTS, action="append", help="run only these (default: both; parts merge afterwards)"
    )
    args = add_arguments(parser).parse_args(argv)
    if args.smoke:
        args.seeds, args.epochs, args.limit, args.noise = 1, 1, 128, [0.3]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = Results("lesson_models", TITLE, smoke=args.smoke, settings=settings_of(args))
    parts = args.part or PARTS
    with tempfile.TemporaryDirectory() as folder:
        if "classifiers" in parts:
            classifiers(args.seeds, args.epochs, args.limit, Path(folder), results)
        if "denoisers" in parts:
            denoisers(args.epochs, args.limit, args.noise, Path(folder), results)
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
