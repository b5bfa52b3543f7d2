"""Which modules are benchmarks, and running them: at full size each in a fresh process, in smoke
mode all in this one.

A benchmark is a module of benchmarks/ with a top-level `main` (found by reading the source, so
nothing is imported to list them), except the tools in `NOT_BENCHMARKS`. A new benchmark is
picked up without being registered anywhere: the suite smoke-tests it and the report shows its
latest results.

Full-size runs each get their own interpreter, so one benchmark's memory, graphs and global
settings never weigh on the next. Smoke runs share one: they check that every code path still
runs, not how fast, and TensorFlow's import (about 10 s on two cores) is then paid once.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
RESULTS = PACKAGE / "results"

#: Modules of benchmarks/ that are not benchmarks, and why.
NOT_BENCHMARKS = {
    "results": "the document every benchmark writes",
    "report": "docs/benchmarks.md from the documents",
    "runner": "finds and runs the benchmarks",
    "screenshot": "pictures of the window for the docs: no figures",
    "screenshots": "pictures of the window for the docs: no figures",
}


def names() -> list[str]:
    """Every benchmark, by module name, in alphabetical order."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem.startswith("_") or path.stem in NOT_BENCHMARKS:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            found.append(path.stem)
    return found


def unknown(requested: Sequence[str]) -> list[str]:
    known = set(names())
    return [name for name in requested if name not in known]


def run_full(selected: Sequence[str], json_dir: Path = RESULTS) -> int:
    """Each benchmark at full size in its own process; its document goes to `json_dir/NAME.json`.
    Returns 0 when every one ran (a benchmark that cannot run here, e.g. without a GPU, says so
    and writes nothing: it counts as skipped, not failed)."""
    outcome: dict[str, str] = {}
    for name in selected:
        path = json_dir / f"{name}.json"
        before = path.stat().st_mtime_ns if path.is_file() else None
        print(f"== {name} ==", flush=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="layerlab-bench-") as home:
            env = dict(os.environ, LAYERLAB_HOME=home, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
            code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}", "--json", str(path)], cwd=ROOT, env=env)
        written = path.is_file() and path.stat().st_mtime_ns != before
        minutes = (time.monotonic() - started) / 60
        if code != 0:
            outcome[name] = f"FAILED (exit status {code}) after {minutes:.1f} min"
        else:
            outcome[name] = f"{path} ({minutes:.1f} min)" if written else "skipped: it wrote no results (see above)"
    _summary(outcome)
    if any(value.startswith(str(json_dir)) for value in outcome.values()):
        print("docs/benchmarks.md from the latest results: python -m benchmarks --report", flush=True)
    return 1 if any(value.startswith("FAILED") for value in outcome.values()) else 0


def run_smoke(selected: Sequence[str], json_dir: Path) -> int:
    """Every benchmark in smoke mode, one after another in this process; documents to `json_dir`.
    A failure is reported and the next one runs: the summary names every benchmark that failed."""
    outcome: dict[str, str] = {}
    home = tempfile.mkdtemp(prefix="layerlab-bench-smoke-")
    os.environ["LAYERLAB_HOME"] = home  # runs, settings and caches of the benchmarks: never the user's
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        for name in selected:
            outcome[name] = _smoke_one(name, json_dir / f"{name}.json")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    _summary(outcome)
    return 1 if any(value != "ok" for value in outcome.values()) else 0


def _smoke_one(name: str, path: Path) -> str:
    print(f"== {name} (smoke) ==", flush=True)
    started = time.monotonic()
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        code = module.main(["--smoke", "--json", str(path)])
    except SystemExit as exit_:  # argparse refusing --smoke, or a benchmark's own exit
        code = exit_.code if isinstance(exit_.code, int) else 1
    except Exception as err:  # reported, and the next benchmark still runs
        traceback.print_exc()
        print(f"-- {name}: FAILED ({type(err).__name__}: {err})", flush=True)
        return f"FAILED: {type(err).__name__}: {err}"
    seconds = time.monotonic() - started
    if code not in (0, None):
        print(f"-- {name}: FAILED (exit status {code}) in {seconds:.1f} s", flush=True)
        return f"FAILED: exit status {code}"
    if not path.is_file():
        print(f"-- {name}: FAILED (no results written) in {seconds:.1f} s", flush=True)
        return "FAILED: no results written"
    print(f"-- {name}: ok in {seconds:.1f} s", flush=True)
    return "ok"


def _summary(outcome: dict[str, str]) -> None:
    print("\n== summary ==", flush=True)
    width = max((len(name) for name in outcome), default=0)
    for name, what in outcome.items():
        print(f"{name:{width}}  {what}", flush=True)
