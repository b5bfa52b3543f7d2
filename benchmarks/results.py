"""Benchmark figures as data: every benchmark writes one JSON document of this shape.

A benchmark module `benchmarks/<name>.py` has `main(argv) -> int` taking at least `--smoke` (the
smallest data and epochs that still go through every code path and print every figure line) and
`--json PATH` (write the results there). It builds a `Results`, prints its lines as it measures,
and calls `results.write(path)` when `--json` was given. The document holds:

    {"benchmark": name, "title": ..., "date": ISO-8601 UTC, "smoke": bool,
     "machine": {"cores", "cpu", "memory_gb", "gpu", "platform"},
     "versions": {"python", "tensorflow", "keras", "layerlab", "numpy"},
     "settings": {...what was run: sizes, seeds, images used...},
     "figures": {name: number or text, ...},
     "tables": [{"title", "columns": [...], "rows": [[...], ...]}],
     "notes": ["...", ...]}

`python -m benchmarks --report` turns the latest documents into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        self.tables.append({"title": title, "columns": list(columns), "rows": [list(r) for r in rows]})

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
        if path is None:
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.document(), indent=2, default=_plain) + "\n", encoding="utf-8")
        print(f"results written to {path}", flush=True)


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


def _gpu() -> str | None:
    """The first GPU TensorFlow sees, when TensorFlow is already loaded (never loaded for this)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    try:
        gpus = tf.config.list_physical_devices("GPU")
    except Exception:
        return None
    return gpus[0].name if gpus else None
