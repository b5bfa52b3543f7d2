"""Benchmark figures as data: every benchmark writes one JSON document of this shape.

A benchmark module `benchmarks/<name>.py` has `main(argv) -> int` taking at least `--smoke` (the
smallest data and epochs that still go through every code path and print every figure line) and
`--json PATH` (write the results there). It builds a `Results`, prints its lines as it measures,
and calls `results.write(path)` when `--json` was given. The document holds:

    {"benchmark": name, "title": ..., "date": ISO-8601 UTC, "smoke": bool,
     "machine": {"cores", "cpu", "memory_gb", "gpu", "platform", "load_average"},
     "versions": {"python", "tensorflow", "keras", "layerlab", "numpy"},
     "settings": {...what was run: sizes, seeds, images used...},
     "figures": {name: number or text, ...},
     "tables": [{"title", "columns": [...], "rows": [[...], ...]}],
     "notes": ["...", ...]}

Tables are what a reader of docs/benchmarks.md sees (cells are numbers or text; text where a unit
or a mark matters); figures are the headline numbers, unrounded, for whoever compares runs (the
page shows them only when a document has no table); notes are sentences computed from the
measurements (a goal met or missed, with its figure), shown under the tables. What does not depend on
the figures (how the benchmark measures, why the numbers are what they are) is prose in the module
itself: its docstring and, when there is more to say, a module-level `DISCUSSION` string.

`python -m benchmarks NAME` runs a benchmark at full size and keeps its document as
`benchmarks/results/NAME.json`; a run too long for one sitting can be split (its cases or variants
run one invocation each) and the parts' documents merged (`merge`, `python -m benchmarks --merge`); `python -m benchmarks --report` turns the latest documents into
docs/benchmarks.md (benchmarks/report.py). No benchmark writes the docs itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`--smoke` and `--json PATH`, which every benchmark takes."""
    parser.add_argument("--smoke", action="store_true", help="smallest sizes that go through every code path")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON to PATH")
    return parser


def settings_of(args: argparse.Namespace, *internal: str) -> dict[str, Any]:
    """The options a benchmark ran with, for its document: all but `internal` ones (a child
    process's own flags) and `--smoke` and `--json`, which are recorded apart."""
    return {
        key: str(value) if isinstance(value, Path) else value
        for key, value in vars(args).items()
        if key not in ("smoke", "json", *internal) and not key.startswith("_")
    }


@dataclass
class Results:
    benchmark: str
    title: str
    smoke: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, name: str, value: Any, line: str | None = None) -> None:
        """Record a figure; print `line` (the human-readable form) when given."""
        self.figures[name] = value
        if line is not None:
            print(line, flush=True)

    def table(self, title: str, columns: list[str], rows: list[list[Any]], show: bool = False) -> None:
        """Record a table; print it (as Markdown) when `show`."""
        self.tables.append({"title": title, "columns": list(columns), "rows": [list(r) for r in rows]})
        if show:
            from benchmarks.report import markdown_table

            print(f"{title}\n{markdown_table(columns, rows)}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"note: {text}", flush=True)

    def document(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "title": self.title,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "smoke": self.smoke,
            "machine": machine(),
            "versions": versions(),
            "settings": self.settings,
            "figures": self.figures,
            "tables": self.tables,
            "notes": self.notes,
        }

    def write(self, path: Path | None) -> None:
        """Write the document to `path` (nothing when None), atomically: a reader of the latest
        results never sees half a file."""
        if path is None:
            return
        write_document(Path(path), self.document())
        print(f"results written to {path}", flush=True)


def write_document(path: Path, document: dict[str, Any]) -> None:
    """A results document as strict, readable JSON, written atomically."""
    from engine.core.files import atomic_write

    text = json.dumps(_finite(document), indent=2, ensure_ascii=False, allow_nan=False, default=_plain)
    atomic_write(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def _finite(value: Any) -> Any:
    """NaN and infinities as null: strict JSON has no words for them."""
    if getattr(value, "shape", None) == () and hasattr(value, "item"):  # NumPy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "gpu": _gpu(),
        "platform": platform.platform(),
        "load_average": _load_average(),
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("tensorflow", "keras", "numpy"):
        module = sys.modules.get(name)
        if module is None:
            try:
                from importlib.metadata import version

                found[name] = version(name)
            except Exception:
                found[name] = None
        else:
            found[name] = getattr(module, "__version__", None)
    import engine

    found["layerlab"] = engine.__version__
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    return None


def _load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages when the document is written: how busy the machine
    was (other work shares its cores)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _gpu() -> str | None:
    """The first GPU TensorFlow (or JAX) sees, when it is already loaded (never loaded for this)."""
    tf, jax = sys.modules.get("tensorflow"), sys.modules.get("jax")
    try:
        if tf is not None and (gpus := tf.config.list_physical_devices("GPU")):
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name") or gpus[0].name
        if jax is not None and (gpus := [d for d in jax.devices() if d.platform == "gpu"]):
            return getattr(gpus[0], "device_kind", "GPU")
    except Exception:
        return None
    return None


def merge(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """One document from the parts of a benchmark run in several invocations (its cases or variants
    one at a time): tables of the same title and columns get the rows of each part in turn, figures
    and settings are joined (a setting that differs lists each part's value), notes follow in
    order; the date and machine are the last part's, each part's date and load kept in `parts`."""
    if not documents:
        raise ValueError("nothing to merge")
    names = {d["benchmark"] for d in documents}
    if len(names) > 1 or len({d["smoke"] for d in documents}) > 1:
        raise ValueError(f"parts of different runs: {', '.join(sorted(names))}")
    merged = {key: value for key, value in documents[-1].items() if key not in ("tables", "figures", "notes")}
    merged["settings"] = _merged_settings([d["settings"] for d in documents])
    merged["figures"] = {key: value for d in documents for key, value in d["figures"].items()}
    merged["notes"] = [note for d in documents for note in d["notes"]]
    tables: list[dict[str, Any]] = []
    for table in (table for d in documents for table in d["tables"]):
        same = next((t for t in tables if (t["title"], t["columns"]) == (table["title"], table["columns"])), None)
        if same is None:
            tables.append({**table, "rows": list(table["rows"])})
        else:
            same["rows"].extend(table["rows"])
    merged["tables"] = tables
    merged["parts"] = [
        {"date": d["date"], "load_average": d["machine"].get("load_average"), **d.get("settings", {})}
        for d in documents
    ]
    return merged


def _merged_settings(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in dict.fromkeys(key for part in parts for key in part):
        values = [part[key] for part in parts if key in part]
        if all(isinstance(v, list) for v in values):  # e.g. the variants each part ran: all of them
            values = [[item for v in values for item in v]]
        distinct = [v for i, v in enumerate(values) if v not in values[:i]]
        distinct = [v for v in distinct if v not in (None, "", [])] or distinct  # a part that skipped it
        merged[key] = distinct[0] if len(distinct) == 1 else distinct
    return merged
