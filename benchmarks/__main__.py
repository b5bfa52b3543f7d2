"""`python -m benchmarks [NAME…]`: run the benchmarks (all, or those named) at full size, each
document kept as benchmarks/results/NAME.json; `--smoke`: all at toy size, in one process, the
documents in a temporary folder (or `--json-dir`); `--report`: docs/benchmarks.md from the latest
documents; `--list`: the benchmarks' names."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks import runner


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--smoke", action="store_true", help="toy sizes: does every benchmark still run?")
    parser.add_argument("--json-dir", type=Path, help="where the documents go (default: benchmarks/results/)")
    parser.add_argument("--report", action="store_true", help="write docs/benchmarks.md from the latest documents")
    parser.add_argument("--list", action="store_true", help="the benchmarks' names")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(runner.names()))
        return 0
    if args.report:
        return report(args)
    missing = runner.unknown(args.names)
    if missing:
        print(f"no benchmark named {', '.join(missing)} (python -m benchmarks --list)", file=sys.stderr)
        return 2
    selected = args.names or runner.names()
    if args.smoke:
        json_dir = args.json_dir or Path(tempfile.mkdtemp(prefix="layerlab-smoke-results-"))
        code = runner.run_smoke(selected, json_dir)
        print(f"smoke results (toy sizes: not figures) in {json_dir}", flush=True)
        return code
    return runner.run_full(selected, args.json_dir or runner.RESULTS)


def report(args: argparse.Namespace) -> int:
    from benchmarks.report import ReportError, write

    if args.names or args.smoke:
        print("--report takes no names and no --smoke: it reports the latest documents", file=sys.stderr)
        return 2
    try:
        path = write(args.json_dir or runner.RESULTS)
    except ReportError as err:
        print(f"no report: {err}", file=sys.stderr)
        return 1
    print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
