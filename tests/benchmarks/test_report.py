"""docs/benchmarks.md is made from the results documents, never by hand; the documents are strict
JSON with the machine and versions they were measured with."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks import report, runner
from benchmarks.__main__ import main as benchmarks_main
from benchmarks.results import Results, merge


def test_docs_are_the_report_of_the_committed_results() -> None:
    assert report.DOC.read_text(encoding="utf-8") == report.render(), (
        "docs/benchmarks.md is not what the results make: run `python -m benchmarks --report`"
    )


def test_every_committed_result_is_a_full_size_document_of_a_benchmark() -> None:
    documents = report.load()
    assert documents
    assert {d["benchmark"] for d in documents} <= set(runner.names())
    assert all(not d["smoke"] for d in documents)


def _document(tmp_path: Path, **changes: object) -> Path:
    results = Results("toy", "A toy benchmark", settings={"epochs": 3})
    results.figures.update({"ratio": 1.23456, "missing": math.nan, "numpy": np.float32(0.5)})
    results.notes.append("Goal met.")
    path = tmp_path / "results" / "toy.json"
    results.write(path)
    path.write_text(json.dumps(json.loads(path.read_text()) | changes), encoding="utf-8")
    return path


def test_a_document_becomes_a_section(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "toy.py").write_text(
        '"""Toy: the summary line.\n\nHow it measures.\n"""\n\nDISCUSSION = """Why the figures are so."""\n'
    )
    path = _document(
        tmp_path,
        tables=[{"title": "the table", "columns": ["case", "s", "n", "mark"], "rows": [["a|b", 1234.5, 20000, None]]}],
    )
    text = report.render(path.parent, sources)
    section = text[text.index("## A toy benchmark") :]
    assert "How it measures." in section and "the summary line" not in section
    assert "*Measured 20" in section and "LayerLab" in section and "no GPU" in section
    assert "Settings: `epochs` 3." in section
    assert "| a\\|b | 1,234 | 20,000 | — |" in section
    assert "Goal met." in section and section.rstrip().endswith("Why the figures are so.")
    assert "| ratio |" not in section  # the figures stay data when there are tables


def test_figures_are_shown_when_there_is_no_table(tmp_path: Path) -> None:
    text = report.render(_document(tmp_path).parent, tmp_path)
    assert "| ratio | 1.235 |" in text and "| missing | — |" in text


def test_a_smoke_or_misplaced_document_is_refused(tmp_path: Path) -> None:
    path = _document(tmp_path, smoke=True)
    with pytest.raises(report.ReportError, match="smoke run"):
        report.load(path.parent)
    path.rename(path.with_name("other.json"))
    with pytest.raises(report.ReportError, match="not of 'other'"):
        report.load(path.parent)


def test_results_are_strict_json_with_machine_and_versions(tmp_path: Path) -> None:
    results = Results("toy", "A toy benchmark", figures={"nan": math.nan, "numpy": np.float64(2.5)})
    results.write(tmp_path / "toy.json")

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    document = json.loads((tmp_path / "toy.json").read_text(), parse_constant=refuse)
    assert document["figures"] == {"nan": None, "numpy": 2.5}
    assert document["machine"]["cores"] >= 1 and "load_average" in document["machine"]
    assert document["versions"]["layerlab"] and document["versions"]["python"]


def test_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert benchmarks_main(["--list"]) == 0
    assert capsys.readouterr().out.split() == runner.names()
    assert benchmarks_main(["no_such_benchmark"]) == 2
    assert "no benchmark named no_such_benchmark" in capsys.readouterr().err
    assert benchmarks_main(["--report", "scale"]) == 2


def test_parts_of_a_split_run_merge_into_one_document(tmp_path: Path) -> None:
    parts = []
    for variant, rows in (("a", [["a", 1.0]]), ("b", [["b", 2.0]])):
        settings = {"variant": [variant], "runs": 20, "archs": "mlp" if variant == "a" else ""}
        results = Results("toy", "A toy benchmark", settings=settings)
        results.figures[f"{variant}: growth"] = rows[0][1]
        results.table("memory", ["variant", "growth"], rows)
        results.notes.append(f"{variant} noted.")
        results.write(tmp_path / f"{variant}.json")
        parts.append(json.loads((tmp_path / f"{variant}.json").read_text()))
    merged = merge(parts)
    assert merged["tables"] == [{"title": "memory", "columns": ["variant", "growth"], "rows": [["a", 1.0], ["b", 2.0]]}]
    assert merged["figures"] == {"a: growth": 1.0, "b: growth": 2.0}
    assert merged["settings"] == {"variant": ["a", "b"], "runs": 20, "archs": "mlp"}  # "": a part skipped it
    assert merged["notes"] == ["a noted.", "b noted."] and len(merged["parts"]) == 2
    with pytest.raises(ValueError, match="different runs"):
        merge([parts[0], parts[1] | {"benchmark": "other"}])
