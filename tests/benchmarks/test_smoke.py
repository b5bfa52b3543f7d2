"""Every benchmark still runs: all of them in smoke mode (toy sizes), each writing a results
document the report can use. Benchmarks are found, not listed, so a new one is covered as soon as
it exists, and fails here until it takes `--smoke` and `--json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import runner

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks.md"

pytestmark = [pytest.mark.benchmarks, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """All the benchmarks in smoke mode, once, in two processes of their own: (results folder, output)."""
    out = tmp_path_factory.mktemp("smoke-results")
    doc_before = DOC.read_bytes() if DOC.is_file() else None
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    names = runner.names()
    halves = [names[0::2], names[1::2]]  # two processes at once: the suite's longest file, halved
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks", "--smoke", *half, "--json-dir", str(out)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for half in halves
        if half
    ]
    logs = [process.communicate(timeout=840)[0] for process in started]
    assert (DOC.read_bytes() if DOC.is_file() else None) == doc_before, "a benchmark wrote docs/benchmarks.md"
    return out, "\n".join(logs)


def output_of(name: str, log: str) -> str:
    """The part of the smoke run's output that `name` printed (the end of it)."""
    start = log.find(f"== {name} (smoke) ==")
    if start < 0:
        return log[-4000:]
    end = log.find("\n== ", start + 1)
    return log[start : end if end > 0 else None][-4000:]


def test_the_benchmarks_are_found() -> None:
    names = runner.names()
    assert {"engine_throughput", "inference_latency", "heartbeat", "scale"} <= set(names)
    assert not set(names) & set(runner.NOT_BENCHMARKS)  # the screenshot scripts make pictures, not figures


@pytest.mark.parametrize("name", runner.names())
def test_benchmark_runs_in_smoke_mode(name: str, smoke: tuple[Path, str]) -> None:
    out, log = smoke
    path = out / f"{name}.json"
    assert path.is_file(), f"{name} wrote no results in smoke mode:\n{output_of(name, log)}"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["benchmark"] == name
    assert document["smoke"] is True
    assert document["figures"], f"{name} recorded no figures"
    assert all(isinstance(key, str) for key in document["figures"])
    for table in document["tables"]:
        assert table["rows"], f"{name}: table {table['title']!r} has no rows"
        assert all(len(row) == len(table["columns"]) for row in table["rows"]), f"{name}: {table['title']!r}"
    assert document["machine"]["cores"] >= 1 and document["machine"]["cpu"]
    assert document["versions"]["python"] and document["versions"]["layerlab"]
    assert document["date"][:2] == "20"
