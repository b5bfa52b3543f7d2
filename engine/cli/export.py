"""`layerlab-cli export RUN --format keras|savedmodel|tflite|onnx [--quantize float16|int8] --out PATH`.

Writes a verified export (engine.export.bundle) and prints `{"path", "format", "agreement",
"max_abs_diff", "size_bytes"}` with `--json`. What can be checked before TensorFlow starts is
checked first (a mistake is one line on stderr, exit 2); an export that does not agree with its
model exits 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine import Cancelled, CancelToken, ConfigError, ExportError, check_export, export_run
from engine.cli.common import EXIT_FAILED, EXIT_OK, StopOnSignals, err, out, printable, start_tensorflow


def add_commands(sub: Any) -> None:
    export = sub.add_parser("export", help="export a run's model (keras, savedmodel, tflite, onnx), verified")
    export.add_argument("run", type=Path, help="run folder")
    export.add_argument("--format", required=True, choices=("keras", "savedmodel", "tflite", "onnx"))
    export.add_argument("--quantize", choices=("float16", "int8"), help="tflite only: float16 weights, or int8")
    export.add_argument("--out", type=Path, required=True, help="a new folder for the model and its companions")
    export.add_argument("--samples", type=int, default=200, help="validation images to compare on (default: 200)")
    export.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    if args.samples < 1:
        raise ConfigError(f"--samples must be at least 1, not {args.samples}")
    check_export(args.run, args.format, args.out, args.quantize)  # before TensorFlow starts
    start_tensorflow()
    cancel = CancelToken()
    with StopOnSignals(cancel) as stop:
        try:
            report = export_run(
                args.run, args.format, args.out, quantize=args.quantize, samples=args.samples, cancel=cancel
            )
        except Cancelled:
            err("layerlab-cli: export stopped; nothing was written")
            return stop.exit_code()
        except ExportError as error:
            err(f"layerlab-cli: export failed: {error}")
            return EXIT_FAILED
    if args.json:
        out(
            json.dumps(
                {
                    "path": report.path,
                    "format": report.format,
                    "agreement": report.agreement,
                    "max_abs_diff": report.max_abs_diff,
                    "size_bytes": report.size_bytes,
                }
            )
        )
    else:
        quantized = f" ({report.quantize})" if report.quantize else ""
        out(
            f"{report.format}{quantized}: {printable(report.path)}  {report.size_bytes:,} bytes  agreement "
            f"{report.agreement:.1%} on {report.samples} images  max |Δp| {report.max_abs_diff:.2e}"
        )
    if report.note:
        err(f"note: {report.note}")
    return EXIT_OK
