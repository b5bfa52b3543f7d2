"""`python -m benchmarks [NAME…]`: run the benchmarks (all, or those named) at full size, each
document kept as benchmarks/results/NAME.json; `--smoke`: all at toy size, in one process, the
documents in a temporary folder (or `--json-dir`); `--report`: docs/benchmarks.md from the latest
documents; `--merge PART…`: one benchmark's document from the parts of a run split over several
invocations; `--list`: the benchmarks' names."""

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
    parser.add_argument("--merge", type=Path, nargs="+", metavar="PART", help="merge the parts' documents into one")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.json_dir or runner.RESULTS)
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


def merge(parts: list[Path], json_dir: Path) -> int:
    import json

    from benchmarks.results import merge as merged_document
    from benchmarks.results import write_document

    try:
        document = merged_document([json.loads(part.read_text(encoding="utf-8")) for part in parts])
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"cannot merge: {err}", file=sys.stderr)
        return 1
    path = json_dir / f"{document['benchmark']}.json"
    write_document(path, document)
    print(f"wrote {path} from {len(parts)} parts", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
