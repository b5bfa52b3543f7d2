"""Runs that can be told apart: a grid's runs named by their factors, other runs by what differs
from the runs beside them; how each ended; a lesson's runs marked as the lesson's."""

from __future__ import annotations

from pathlib import Path

from engine import ExperimentConfig, GridSpec, RunMetrics, describe_runs, factor, grid_cells, list_runs
from engine.experiments.grid import cell_config, spec_to_record
from engine.experiments.grid_files import RunRecord, write_grid_record
from engine.runs import folders


def _run(root: Path, name: str, config: ExperimentConfig, metrics: RunMetrics | None = None) -> Path:
    path = root / name
    path.mkdir(parents=True)
    folders.write_json(path / folders.CONFIG, config.to_dict())
    folders.write_json(path / folders.HISTORY, [{"epoch": 0, "loss": 1.0}])
    if metrics is not None:
        folders.write_json(path / folders.METRICS, metrics.to_json_dict())
    return path


def test_grid_runs_read_as_their_factors_and_others_as_what_differs(tmp_path: Path) -> None:
    runs, grids = tmp_path / "runs", tmp_path / "grids"
    base = ExperimentConfig().updated(**{"data.name": "digits", "training.epochs": 3})
    spec = GridSpec(base, (factor("arch.batchnorm", [False, True]),), repeats=1)
    records = []
    for cell, settings in enumerate(grid_cells(spec)):
        path = _run(runs, f"20260101-00000{cell}-grid", cell_config(spec, settings), RunMetrics(val_accuracy=0.9))
        records.append(RunRecord(cell=cell, repeat=0, run_dir=str(path), status="done"))
    (grids / "g1").mkdir(parents=True)
    write_grid_record(grids / "g1", spec_to_record(spec, records))
    _run(runs, "20260102-000000-own", base.updated(**{"training.learning_rate": 0.0005}), RunMetrics())
    _run(runs, "20260103-000000-stopped", base, RunMetrics(cancelled=True))
    _run(runs, "20260104-000000-lesson", base.updated(lesson="overfitting_regularisation"), RunMetrics())
    _run(runs, "20260105-000000-killed", base)

    summaries = list_runs(runs)  # newest first
    lines = {s.path.name: line for s, line in zip(summaries, describe_runs(summaries, grids))}
    assert lines["20260101-000000-grid"].what == "bn off" and lines["20260101-000001-grid"].what == "bn on"
    assert lines["20260101-000000-grid"].kind == "grid" and lines["20260101-000000-grid"].source.endswith("g1")
    assert "lr 0.0005" in lines["20260102-000000-own"].what  # what differs from the runs beside it
    assert lines["20260104-000000-lesson"].kind == "lesson"
    assert lines["20260104-000000-lesson"].source == "overfitting_regularisation"
    status = {s.path.name: (s.status, s.resumable) for s in summaries}
    assert status["20260103-000000-stopped"] == ("stopped", True)
    assert status["20260105-000000-killed"] == ("unfinished", True)
    assert status["20260102-000000-own"] == ("finished", False)


def test_a_lone_run_reads_as_its_model_and_data(tmp_path: Path) -> None:
    _run(tmp_path, "20260101-000000-x", ExperimentConfig().updated(**{"data.name": "shapes"}), RunMetrics())
    summaries = list_runs(tmp_path)
    assert describe_runs(summaries)[0].what == "mlp on shapes"


def test_the_lesson_mark_is_provenance_not_a_setting() -> None:
    from engine import fork_changes
    from engine.experiments.compare import config_differences

    own, lesson = ExperimentConfig(), ExperimentConfig().updated(lesson="x")
    assert config_differences([own, lesson]) == {}  # never "what differs" between two runs
    assert "lesson" not in fork_changes(lesson, own)  # a fork keeps its parent's mark
