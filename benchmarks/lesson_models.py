"""Figures of CapsNet and the autoencoders, on scikit-learn's digits (1 797 real 8×8 scans).

1. CapsNet against bn_cnn: each trained 10 epochs through `engine.training.train` (Adam 0.001,
   batch 64, the default 20 % validation split), per seed; validation accuracy, seconds,
   trainable parameters.
2. Denoising autoencoders: conv_autoencoder and dense_autoencoder trained 10 epochs with Gaussian
   noise on the inputs; the reconstruction error of the noisy validation images against their
   clean originals, beside the error of the noisy images themselves (mean squared error on 0..1
   pixels, `metrics.json`'s `reconstruction_error` and `noisy_input_error`).

    python -m benchmarks.lesson_models [--seeds 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path


def classifiers(seeds: int, epochs: int, root: Path) -> None:
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    print(f"digits, {epochs} epochs, Adam 0.001, batch 64, 20 % validation")
    print("| model | seed | val accuracy | train accuracy | seconds | trainable parameters |")
    print("|---|---|---|---|---|---|")
    summary: dict[str, list[float]] = {}
    for arch in ("capsnet", "bn_cnn"):
        for seed in range(seeds):
            changes = {"arch.name": arch, "training.epochs": epochs, "training.seed": seed}
            if arch == "bn_cnn":
                changes["arch.batchnorm"] = True  # the preset's own default, as the window and CLI apply it
            result = train(ExperimentConfig().updated(**changes), runs_root=root)
            m = result.metrics
            summary.setdefault(arch, []).append(m.val_accuracy)
            print(
                f"| {arch} | {seed} | {m.val_accuracy:.4f} | {m.train_accuracy:.4f} | {m.seconds:.1f} | "
                f"{m.trainable_params:,} |",
                flush=True,
            )
            result.model = None
    for arch, values in summary.items():
        spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
        print(f"{arch}: mean validation accuracy {statistics.mean(values):.4f}{spread} over {len(values)} seeds")


def denoisers(epochs: int, root: Path) -> None:
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    print(f"\ndigits, {epochs} epochs, Adam 0.001, batch 64; errors on the 360 validation images")
    print("| autoencoder | noise σ | reconstruction error (noisy in) | noisy inputs' own error | ratio | seconds |")
    print("|---|---|---|---|---|---|")
    for arch in ("conv_autoencoder", "dense_autoencoder"):
        for noise in (0.3, 0.5):
            changes = {"task": "autoencoder", "arch.name": arch, "arch.noise": noise, "training.epochs": epochs}
            m = train(ExperimentConfig().updated(**changes), runs_root=root).metrics
            print(
                f"| {arch} | {noise} | {m.reconstruction_error:.4f} | {m.noisy_input_error:.4f} | "
                f"{m.reconstruction_error / m.noisy_input_error:.2f} | {m.seconds:.1f} |",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as folder:
        classifiers(args.seeds, args.epochs, Path(folder))
        denoisers(args.epochs, Path(folder))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
