"""Export agreement: every export format of a small CNN and of a backbone, checked against the Keras model.

Each format (keras, SavedModel, LiteRT float32 / float16 / int8, ONNX) written by
`engine.export.bundle.export_run` (Keras's own `model.export` / TensorFlow's LiteRT converter;
int8 calibrated on training images), then loaded with its own runtime (Keras, TensorFlow for the
SavedModel, the LiteRT interpreter, onnxruntime) and compared with the Keras model on 200
validation images: top-1 agreement, the largest probability difference, the file's size, the time
to write and check. An export below 99 % agreement (97 % for int8) is refused and nothing is left.
The small CNN is `cifar_cnn` on generated shapes. No ImageNet weights can be downloaded here, so
the backbone case is the VGG16 backbone preset trained end to end on shapes at 32 px, so that its
answers mean something (a random frozen base gives near-uniform outputs that any export "agrees"
with; the backbones with batch normalisation keep it in inference mode, as transfer learning
wants, and do not learn from scratch in a few epochs). The whole network is exported and compared.

    python -m benchmarks.export_agreement [--epochs 8]
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

TITLE = "Export agreement"

DISCUSSION = """A refused int8 export is the verification doing its job: full-integer quantization of a
deep network without batch normalisation, calibrated on a few hundred images, can change a good
share of its answers, and the user gets that figure instead of a file. (Once, a backbone trained
end to end (MobileNetV2) exported to SavedModel and ONNX agreed on 11 % of images: Keras's
exporters traced batch normalisation in training mode; exports trace the model called with
`training=False`.)"""

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--model", choices=list(MODELS), action="append", help="export only these (default: both; parts merge)"
    )
    args = add_arguments(parser).parse_args(argv)
    models = {label: MODELS[label] for label in args.model or MODELS}
    if args.smoke:  # one model through every format: the backbone takes the same path
        args.epochs = 1
        models = {"cifar_cnn (shapes 32 px, 64 images)": MODELS["cifar_cnn (shapes 32 px)"] | {"data.limit": 64}}
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    results = Results("export_agreement", TITLE, smoke=args.smoke, settings=settings_of(args))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, settings) in enumerate(models.items()):
            config = ExperimentConfig().updated(**({"training.epochs": args.epochs} | settings))
            run = Path(tmp) / f"run{i}"
            result = train(config, run_dir=run)
            assert result.failed is None, result.failed
            results.figure(
                f"{label}: val accuracy",
                result.metrics.val_accuracy,
                f"{label}: val_accuracy {result.metrics.val_accuracy:.3f}",
            )
            shown = f"{label}, val accuracy {result.metrics.val_accuracy:.3f}"
            for n, (fmt, quantize) in enumerate(FORMATS):
                row = export_row(label, fmt, quantize, run, Path(tmp) / f"out{i}-{fmt}-{quantize}", results)
                rows.append([shown if n == 0 else "", *row])
    results.table(
        "each format against the Keras model on the validation images",
        ["model", "format", "agreement", "max |Δp|", "size", "seconds"],
        rows,
        show=True,
    )
    results.write(args.json)
    return 0


def export_row(label: str, fmt: str, quantize: str | None, run: Path, out: Path, results: Results) -> list:
    """Export the run in one format (verified by `export_run`); its row of the table (but the model)."""
    from engine.core.errors import ExportError
    from engine.export.bundle import export_run

    name = {"savedmodel": "SavedModel", "tflite": "LiteRT", "onnx": "ONNX"}.get(fmt, fmt)
    name += f" {quantize or 'float32'}" if fmt == "tflite" else ""
    t0 = time.perf_counter()
    try:
        report = export_run(run, fmt, out, quantize=quantize)
    except ExportError as err:
        results.figure(f"{label} {name}: refused", str(err), f"{label} {name}: refused: {err}")
        return [name, f"**refused**: {err}", None, "nothing written", None]
    seconds = time.perf_counter() - t0
    results.figure(
        f"{label} {name}: agreement",
        report.agreement,
        f"{label} {name}: agreement {report.agreement:.1%}, max |Δp| {report.max_abs_diff:.1e}, "
        f"{report.size_bytes / 2**20:.2f} MB, {seconds:.1f} s",
    )
    results.figure(f"{label} {name}: max |Δp|", report.max_abs_diff)
    return [
        name,
        f"{report.agreement:.1%}",
        f"{report.max_abs_diff:.1e}" if report.max_abs_diff else "0",
        f"{report.size_bytes / 2**20:.2f} MB",
        seconds,
    ]


if __name__ == "__main__":
    raise SystemExit(main())
