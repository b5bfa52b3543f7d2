"""GPU training throughput of LayerLab's architectures, with and without mixed precision and XLA.

Builds `cifar_cnn` (32×32×3) and a frozen-base `mobilenet_v2` + new head (fine-tuning the last 10
layers) with LayerLab's own builders, and times `model.fit` on synthetic data of the right shape
in four modes: float32 / mixed_float16 × XLA on / off; images per second, median of the timed
epochs after a warm-up epoch. It needs only Keras and NumPy, so it runs on any Keras 3 backend:
`KERAS_BACKEND=tensorflow` (LayerLab's own) or `KERAS_BACKEND=jax` (where "XLA off" means eager
op-by-op execution). At full size it needs a GPU and writes nothing without one; `--smoke` runs on
the CPU.

    KERAS_BACKEND=jax python -m benchmarks.gpu_throughput [--samples 8192] [--epochs 3] [--cases arch:side:batch,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

from benchmarks.results import Results, add_arguments, settings_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TITLE = "GPU training throughput"

DISCUSSION = """XLA is what makes the GPU fast. Mixed precision pays off once batches are big enough to be
compute-bound; at small batches the step is bound by launch overhead and the loss-scaling ops
make it slower. The TensorFlow path (`--mixed-precision`, `--xla` of the engine) is the same Keras
API and is covered on the CPU by the tests."""


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


def gpu() -> str | None:
    """The GPU the Keras backend will use, or None."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform == "gpu"]
        return getattr(devices[0], "device_kind", "GPU") if devices else None
    import tensorflow as tf

    devices = tf.config.list_physical_devices("GPU")
    return (tf.config.experimental.get_device_details(devices[0]).get("device_name") or "GPU") if devices else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--eager-samples", type=int, default=1024, help="fewer samples when XLA is off on JAX (eager is slow)"
    )
    parser.add_argument("--cases", default="cifar_cnn:32:128,mobilenet_v2:128:64", help="arch:image_side:batch,...")
    parser.add_argument("--xla-only", action="store_true", help="skip the runs without XLA")
    args = add_arguments(parser).parse_args(argv)
    if args.smoke:  # every mode, on whatever device there is, with a model XLA compiles in a second
        args.samples, args.eager_samples, args.epochs, args.cases = 32, 32, 1, "mlp:8:16"
    import keras

    device = gpu()
    if device is None and not args.smoke:
        print(
            "gpu_throughput: no GPU here, nothing measured (python -m benchmarks.gpu_throughput --smoke runs on a CPU)"
        )
        return 0
    results = Results("gpu_throughput", TITLE, smoke=args.smoke, settings=settings_of(args))
    results.settings.update(backend=keras.backend.backend(), device=device or "CPU")
    modes = [(mixed, xla) for mixed in (False, True) for xla in ((True,) if args.xla_only else (False, True))]
    rows = []
    for case in args.cases.split(","):
        arch, side, batch = case.split(":")
        shape, batch = (int(side), int(side), 3), int(batch)
        row: list = [arch, f"{side}×{side}×3", batch]
        for mixed, xla in modes:
            samples = args.samples if (xla or keras.backend.backend() != "jax") else args.eager_samples
            ips = run_case(arch, shape, samples, batch, args.epochs, mixed, xla)
            mode = f"{'mixed_float16' if mixed else 'float32'}, {'XLA' if xla else 'no XLA'}"
            results.figure(
                f"{arch} {side} px batch {batch}, {mode}: images/s", ips, f"{case} {mode}: {ips:,.0f} images/s"
            )
            row.append(ips)
        rows.append(row)
    columns = [f"{'mixed_float16' if m else 'float32'}, {'XLA' if x else 'no XLA'}" for m, x in modes]
    results.table(
        f"images per second ({keras.backend.backend()} backend, {device or 'CPU'})",
        ["model", "input", "batch", *columns],
        rows,
        show=True,
    )
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
