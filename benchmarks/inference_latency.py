"""Single-image classification latency: LayerLab's compiled call vs `model.predict`, side by side.

For each model, the same preprocessed image goes through `Classifier.probabilities` (a
`tf.function` around the model call, what the window and the CLI use) and through
`model.predict(x, verbose=0)` (what a plain script does), interleaved, after warm-up. We report
the median latency of each and the ratio predict/ours (goal ≥ 10×), plus the end-to-end
`classify(path)` time including decoding and preprocessing of a real PNG.

    python -m benchmarks.inference_latency [--repeats 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(arch: str, shape: tuple[int, int, int], repeats: int) -> dict:
    import numpy as np
    from PIL import Image

    from engine.architectures import build_model
    from engine.config import ArchOptions
    from engine.images.spec import PreprocessSpec
    from engine.inference.classifier import Classifier

    model = build_model(ArchOptions(name=arch, weights="none"), shape, 10)
    spec = PreprocessSpec(shape[0], shape[1], shape[2], class_names=tuple(str(i) for i in range(10)))
    classifier = Classifier(model, spec)
    x = np.random.default_rng(0).uniform(0, 255, (1,) + shape).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "image.png"
        Image.fromarray(x[0].astype(np.uint8).squeeze()).save(png)
        for _ in range(5):  # warm-up: tracing and first-call costs
            classifier.probabilities(x)
            model.predict(x, verbose=0)
            classifier.classify(png)
        ours, plain = [], []
        for _ in range(3):  # interleave so load drift hits both
            ours.append(_median_ms(lambda: classifier.probabilities(x), repeats))
            plain.append(_median_ms(lambda: model.predict(x, verbose=0), repeats))
        end_to_end = _median_ms(lambda: classifier.classify(png), repeats)
    np.testing.assert_allclose(classifier.probabilities(x), model.predict(x, verbose=0), atol=1e-4)
    ours_ms, plain_ms = statistics.median(ours), statistics.median(plain)
    return {
        "arch": arch,
        "shape": shape,
        "ours_ms": ours_ms,
        "predict_ms": plain_ms,
        "ratio": plain_ms / ours_ms,
        "classify_file_ms": end_to_end,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    from engine.runtime.devices import device_name

    results = []
    for arch, shape in (("cifar_cnn", (32, 32, 3)), ("mobilenet_v2", (224, 224, 3))):
        r = measure(arch, shape, args.repeats)
        results.append(r)
        print(
            f"{arch} {shape[0]}×{shape[1]} on {device_name()}: ours {r['ours_ms']:.2f} ms, model.predict "
            f"{r['predict_ms']:.2f} ms → {r['ratio']:.1f}× faster; classify(file) end to end {r['classify_file_ms']:.2f} ms",
            flush=True,
        )
    return results


if __name__ == "__main__":
    main()
