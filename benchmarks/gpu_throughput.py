"""GPU training throughput of LayerLab's architectures with and without mixed precision and XLA.

Builds `cifar_cnn` (32×32×3) and a frozen-base `mobilenet_v2` + new head (fine-tuning the last
layers) with LayerLab's own builders, and times `model.fit` on synthetic data of the right shape
in four modes: float32 / mixed_float16 × XLA on / off. It needs only Keras and NumPy, so it runs
on any Keras 3 backend: `KERAS_BACKEND=tensorflow` (LayerLab's own) or `KERAS_BACKEND=jax`
(where "XLA off" means eager op-by-op execution). Reported: images per second, after one
warm-up epoch, median of the timed epochs.

    KERAS_BACKEND=jax python -m benchmarks.gpu_throughput [--samples 8192] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _EpochTimer:
    def __init__(self) -> None:
        self.times: list[float] = []

    def callback(self):
        import keras

        timer = self

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self._t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                timer.times.append(time.perf_counter() - self._t)

        return Timer()


def run_case(
    arch: str, shape: tuple[int, int, int], samples: int, batch: int, epochs: int, mixed: bool, xla: bool
) -> float:
    import keras
    import numpy as np

    from engine.architectures import build_model
    from engine.config import ArchOptions

    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    keras.utils.set_random_seed(0)
    options = ArchOptions(
        name=arch, weights="none", freeze_base=True, fine_tune_last=10 if arch == "mobilenet_v2" else 0
    )
    model = build_model(options, shape, 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=xla)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (samples,) + shape).astype("float32")
    y = rng.integers(0, 10, samples).astype("int32")
    timer = _EpochTimer()
    model.fit(x, y, batch_size=batch, epochs=epochs + 1, verbose=0, callbacks=[timer.callback()])
    keras.mixed_precision.set_global_policy("float32")
    return samples / statistics.median(timer.times[1:])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--eager-samples", type=int, default=1024, help="fewer samples when XLA is off on JAX (eager is slow)"
    )
    parser.add_argument("--cases", default="cifar_cnn:32:128,mobilenet_v2:128:64", help="arch:image_side:batch,...")
    parser.add_argument("--xla-only", action="store_true", help="skip the runs without XLA")
    args = parser.parse_args(argv)
    import keras

    results = []
    for case in args.cases.split(","):
        arch, side, batch = case.split(":")
        shape, batch = (int(side), int(side), 3), int(batch)
        for mixed in (False, True):
            for xla in (True,) if args.xla_only else (False, True):
                samples = args.samples if (xla or keras.backend.backend() != "jax") else args.eager_samples
                ips = run_case(arch, shape, samples, batch, args.epochs, mixed, xla)
                row = {
                    "backend": keras.backend.backend(),
                    "arch": arch,
                    "shape": shape,
                    "batch": batch,
                    "mixed_precision": mixed,
                    "xla": xla,
                    "images_per_s": ips,
                }
                results.append(row)
                print(json.dumps(row), flush=True)
    return results


if __name__ == "__main__":
    main()
