"""Export agreement: each format (keras, SavedModel, LiteRT float32 / float16 / int8, ONNX) of a
small CNN and of a backbone, as `engine.export.bundle.export_run` verifies it: top-1 agreement with the
Keras model and the largest probability difference on 200 validation images, the file's size and
the time the export took (writing and checking).

The backbone is VGG16 (the ImageNet backbone preset) without ImageNet weights (none can be
downloaded here), trained end to end on generated shapes at 32 px so that its answers mean
something: the backbones with batch normalisation keep it in inference mode, as transfer learning
wants, and do not learn from scratch in a few epochs; their near-constant answers would agree with
any export. The whole network is exported and compared. The small CNN is `cifar_cnn` on shapes.

    python -m benchmarks.export_agreement [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MODELS = {
    "cifar_cnn (shapes 32 px)": {"data.name": "shapes", "arch.name": "cifar_cnn"},
    # No ImageNet weights can be downloaded here: the whole backbone is trained on shapes, so that
    # its answers mean something (a random frozen base gives near-uniform outputs that any export
    # "agrees" with).
    "VGG16 backbone (trained end to end, shapes 32 px)": {
        "data.name": "shapes",
        "data.image_size": 32,
        "data.limit": 1500,
        "arch.name": "vgg16_imagenet",
        "arch.weights": "none",
        "arch.freeze_base": False,
        "arch.head_units": 128,
        "training.learning_rate": 1e-4,
    },
}
FORMATS = [
    ("keras", None),
    ("savedmodel", None),
    ("tflite", None),
    ("tflite", "float16"),
    ("tflite", "int8"),
    ("onnx", None),
]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    from engine.config import ExperimentConfig
    from engine.core.errors import ExportError
    from engine.export.bundle import export_run
    from engine.training.trainer import train

    rows = []
    print(f"{'model':44} {'format':18} {'agreement':>9} {'max |Δp|':>9} {'size':>9} {'seconds':>7}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, settings) in enumerate(MODELS.items()):
            config = ExperimentConfig().updated(**({"training.epochs": args.epochs} | settings))
            run = Path(tmp) / f"run{i}"
            result = train(config, run_dir=run)
            assert result.failed is None, result.failed
            print(f"{label}: val_accuracy {result.metrics.val_accuracy:.3f}", flush=True)
            for fmt, quantize in FORMATS:
                name = f"{fmt} ({quantize})" if quantize else fmt
                t0 = time.perf_counter()
                try:
                    report = export_run(run, fmt, Path(tmp) / f"out{i}-{fmt}-{quantize}", quantize=quantize)
                except ExportError as err:
                    rows.append({"model": label, "format": name, "refused": str(err)})
                    print(f"{label:44} {name:18} refused: {err}", flush=True)
                    continue
                row = {
                    "model": label,
                    "format": name,
                    "agreement": report.agreement,
                    "max_abs_diff": report.max_abs_diff,
                    "size_bytes": report.size_bytes,
                    "seconds": time.perf_counter() - t0,
                    "note": report.note,
                }
                rows.append(row)
                print(
                    f"{label:44} {name:18} {report.agreement:>9.1%} {report.max_abs_diff:>9.1e} "
                    f"{report.size_bytes / 2**20:>7.2f}MB {row['seconds']:>6.1f}s",
                    flush=True,
                )
    return rows


if __name__ == "__main__":
    main()
