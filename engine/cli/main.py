"""`layerlab-cli`: everything the window can do, headless.

User mistakes (bad flags, missing files, undecodable images, datasets that cannot load) end
with a one-line reason on stderr and a non-zero exit; never a traceback. TensorFlow is started
(quietly) only once the cheap checks have passed: a bad dataset file or a broken run folder is
refused in a fraction of a second. Each command group lives in its own module and registers its
commands here (`add_commands`), each parser naming its handler.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from engine import LayerLabError
from engine.cli import experiments, export, insight, inventory, lessons, train
from engine.cli.common import EXIT_FAILED, EXIT_USAGE, RESULTS, err, one_line
from engine.cli.options import Parser

COMMAND_GROUPS = (train, insight, inventory, experiments, export, lessons)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="layerlab-cli", description="LayerLab without a window: train, classify, inspect.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    RESULTS.stream = sys.stdout
    try:
        # Keras prints download progress on stdout: with --json, stdout is kept for the one JSON
        # document and everything else goes to stderr.
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            return args.handler(args)
    except LayerLabError as error:
        err(f"layerlab-cli: error: {one_line(str(error))}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("layerlab-cli: interrupted")
        return 130
    except MemoryError:
        err("layerlab-cli: error: out of memory")
        return EXIT_FAILED
    except Exception as error:  # a bug or an unforeseen fault: still one line, never a traceback
        err(f"layerlab-cli: internal error: {type(error).__name__}: {one_line(str(error))}")
        return EXIT_FAILED
