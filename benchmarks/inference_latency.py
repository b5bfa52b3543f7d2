"""Single-image classification latency: LayerLab's compiled call against `model.predict`, side by side.

For each model, the same preprocessed image goes through `Classifier.probabilities` (the model's
graph with its weights frozen into constants, so batch normalisation folds into the convolutions:
what the window and the CLI use) and through `model.predict(x, verbose=0)` (what a plain script
does), interleaved so that a change in the machine's load hits both, after a warm-up; the median
of 3 × `--repeats` calls each, outputs checked equal. Also the end-to-end `classify(path)` time of
a PNG file: decoding and preprocessing included. Goal: ours ≥ 10× faster than `model.predict`.
The models have random weights: latency does not depend on what they learnt.

    python -m benchmarks.inference_latency [--repeats 30] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.results import Results, add_arguments, settings_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TITLE = "Single-image classification latency"
GOAL = 10.0
MODELS = (("cifar_cnn", (32, 32, 3)), ("mobilenet_v2", (224, 224, 3)))
SMOKE_MODELS = (("cifar_cnn", (32, 32, 3)), ("mobilenet_v2", (32, 32, 3)))

DISCUSSION = """`model.predict` builds a dataset, an iterator and a distribution context on every call:
for a single image that overhead is most of its time. A `tf.function` around the model call
removes it; freezing the weights into constants (the classifier's graph) also lets TensorFlow's
optimiser fold batch normalisation into the convolutions. What remains is the network's own
arithmetic, which `model.predict` pays too: the bigger the network, the smaller the ratio, and the
more it suffers when other work takes one of the two cores from TensorFlow's thread pool (the
load average above says how busy the machine was)."""


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
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
    spec = PreprocessSpec(
        height=shape[0], width=shape[1], channels=shape[2], class_names=tuple(str(i) for i in range(10))
    )
    classifier = Classifier(model, spec)
    x = np.random.default_rng(0).uniform(0, 255, (1, *shape)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "image.png"
        Image.fromarray(x[0].astype(np.uint8).squeeze()).save(png)
        for _ in range(5):  # warm-up: tracing and first-call costs
            classifier.probabilities(x)
            model.predict(x, verbose=0)
            classifier.classify(png)
        ours, plain = [], []
        for _ in range(3):  # interleaved so a change in load hits both
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="calls per median (3 medians per model)")
    args = add_arguments(parser).parse_args(argv)
    if args.smoke:
        args.repeats = 2
    from engine.runtime.devices import device_name

    results = Results("inference_latency", TITLE, smoke=args.smoke, settings=settings_of(args))
    models = SMOKE_MODELS if args.smoke else MODELS
    results.settings.update(device=device_name(), models=[f"{arch} {h}×{w}×{c}" for arch, (h, w, c) in models])
    rows, goals = [], []
    for arch, shape in models:
        r = measure(arch, shape, args.repeats)
        size = f"{shape[0]}×{shape[1]}×{shape[2]}"
        results.figure(
            f"{arch} {size} speed-up",
            r["ratio"],
            f"{arch} {size}: ours {r['ours_ms']:.2f} ms, model.predict {r['predict_ms']:.2f} ms → "
            f"{r['ratio']:.1f}× faster; classify(file) end to end {r['classify_file_ms']:.2f} ms",
        )
        rows.append(
            [arch, size, r["ours_ms"], r["predict_ms"], f"{r['ratio']:.1f}×", r["classify_file_ms"]],
        )
        goals.append(f"{arch} at {size}: {r['ratio']:.1f}×, {'met' if r['ratio'] >= GOAL else 'missed'}")
    results.table(
        "median latency of one image",
        ["model", "input", "ours (ms)", "`model.predict` (ms)", "speed-up", "`classify(png)` end to end (ms)"],
        rows,
        show=True,
    )
    results.note(f"Goal, ours ≥ {GOAL:g}× faster than `model.predict`: " + "; ".join(goals) + ".")
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
