"""Ablation grids: factors from text, cells and their configs, rows with mean ± std and
Welch's significance mark, and real grids of tiny runs that stop and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import ConfigError, RunError
from engine.core.events import EpochEnd, Failed
from engine.core.records import RunMetrics
from engine.experiments import stats
from engine.experiments.grid import (
    Factor,
    GridFinished,
    GridRowUpdated,
    GridRunStarted,
    GridSpec,
    best_row,
    cell_config,
    check_spec,
    factor,
    grid_cells,
    grid_rows,
    load_grid,
    parse_vary,
)
from engine.experiments.grid_runner import run_grid
from engine.experiments.settings import DEFAULT_AUGMENTATION


@pytest.mark.parametrize(
    "text, key, values",
    [
        ("arch.dropout=0,0.5", "arch.dropout", (0.0, 0.5)),
        ("arch.batchnorm=on,off", "arch.batchnorm", (True, False)),
        ("training.learning_rate=0.01, 0.001", "training.learning_rate", (0.01, 0.001)),
        ("arch.name=mlp,bn_cnn", "arch.name", ("mlp", "bn_cnn")),
        ("augmentation=on,off", "augmentation", (True, False)),
        ("freeze_all_but=1,3,none", "freeze_all_but", (1, 3, None)),
        ("training.batch_size=32,128", "training.batch_size", (32, 128)),
        ("arch.activation=relu,tanh", "arch.activation", ("relu", "tanh")),
        ("data.image_size=16,32", "data.image_size", (16, 32)),
    ],
)
def test_parse_vary_coerces_values_to_the_settings_type(text: str, key: str, values: tuple) -> None:
    parsed = parse_vary(text)
    assert parsed == Factor(key, values)
    assert [type(v) for v in parsed.values] == [type(v) for v in values]


@pytest.mark.parametrize(
    "text, words",
    [
        ("arch.dropuot=0,0.5", "unknown setting 'arch.dropuot'"),
        ("arch.dropout", "write KEY=VALUE,VALUE"),
        ("=0,1", "write KEY=VALUE,VALUE"),
        ("arch.dropout=0,,0.5", "a value is empty"),
        ("arch.dropout=", "a value is empty"),
        ("arch.dropout=0,1.5", "arch.dropout=1.5"),
        ("arch.batchnorm=on,maybe", "arch.batchnorm=maybe"),
        ("training.learning_rate=0.01,-1", "greater than 0"),
        ("training.batch_size=32,3.5", "valid integer"),
        ("arch.name=mlp,resnet1000", "unknown architecture 'resnet1000'"),
        ("training.optimizer=adam,adamw", "training.optimizer=adamw"),
        ("arch.dropout=0.5,0.50", "listed twice"),
        ("layer_trainable=1", "unknown setting"),
    ],
)
def test_parse_vary_refuses_with_one_line(text: str, words: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        parse_vary(text)
    message = str(caught.value)
    assert words in message and "\n" not in message


def base(**changes) -> ExperimentConfig:
    settings = {"data.limit": 100, "training.epochs": 1, "training.batch_size": 32, "training.seed": 7}
    return ExperimentConfig().updated(**(settings | changes))


def test_cells_in_a_stable_order_and_their_configs() -> None:
    spec = GridSpec(base(), (parse_vary("arch.dropout=0,0.5"), parse_vary("arch.batchnorm=on,off")), repeats=3)
    assert grid_cells(spec) == [
        {"arch.dropout": 0.0, "arch.batchnorm": True},
        {"arch.dropout": 0.0, "arch.batchnorm": False},
        {"arch.dropout": 0.5, "arch.batchnorm": True},
        {"arch.dropout": 0.5, "arch.batchnorm": False},
    ]
    first = cell_config(spec, grid_cells(spec)[0], repeat=2)
    assert (first.arch.dropout, first.arch.batchnorm, first.training.seed) == (False, True, 9)
    third = cell_config(spec, grid_cells(spec)[2])
    assert (third.arch.dropout, third.arch.dropout_rate, third.training.seed) == (True, 0.5, 7)


def test_a_new_architecture_brings_its_preset_then_the_other_factors_win() -> None:
    spec = GridSpec(
        base(**{"arch.name": "bn_cnn", "arch.batchnorm": True}), (parse_vary("arch.name=naive_cnn,bn_cnn"),)
    )
    naive, bn = (cell_config(spec, cell) for cell in grid_cells(spec))
    assert (naive.arch.name, naive.arch.batchnorm) == ("naive_cnn", False)
    assert (bn.arch.name, bn.arch.batchnorm) == ("bn_cnn", True)
    spec = GridSpec(base(), (parse_vary("arch.name=bn_cnn"), parse_vary("arch.batchnorm=off")))
    assert cell_config(spec, grid_cells(spec)[0]).arch.batchnorm is False


def test_augmentation_on_is_the_base_augmentation_or_a_safe_default() -> None:
    on, off = grid_cells(GridSpec(base(), (parse_vary("augmentation=on,off"),)))
    assert cell_config(GridSpec(base(), ()), on).augmentation == DEFAULT_AUGMENTATION
    assert DEFAULT_AUGMENTATION.flip == "none"  # flipping a digit changes its class
    flipping = base(**{"augmentation.flip": "horizontal"})
    assert cell_config(GridSpec(flipping, ()), on).augmentation == flipping.augmentation
    assert not cell_config(GridSpec(flipping, ()), off).augmentation.enabled


def test_a_spec_that_cannot_run_is_refused_before_training() -> None:
    with pytest.raises(ConfigError, match="given twice"):
        check_spec(GridSpec(base(), (parse_vary("arch.dropout=0,0.5"), parse_vary("arch.dropout=0.2"))))
    with pytest.raises(ConfigError, match="repeats"):
        check_spec(GridSpec(base(), (parse_vary("arch.dropout=0,0.5"),), repeats=0))
    with pytest.raises(ConfigError, match="at most"):
        check_spec(GridSpec(base(), (factor("training.seed", range(200)), factor("training.epochs", range(1, 101)))))


# --- rows and significance ----------------------------------------------------------------------
def test_welch_marks_a_clearly_worse_row_and_not_a_noisy_one() -> None:
    best = [0.95, 0.96, 0.955]
    clearly_worse = [0.70, 0.72, 0.71]
    noisy = [0.90, 0.97, 0.88]  # lower mean, but within the noise
    assert stats.worse_than_best([best, clearly_worse, noisy]) == [False, True, False]
    assert stats.welch_p(best, noisy) > 0.05 > stats.welch_p(best, clearly_worse)
    assert stats.worse_than_best([[0.9], [0.5]]) == [None, None]  # one repeat: no verdict
    assert stats.worse_than_best([[0.9, 0.9], [0.8, 0.8]]) == [False, True]  # no noise at all
    assert stats.worse_than_best([[0.9, 0.9], [0.9, 0.9]]) == [False, False]
    assert stats.mean_std([0.5, 0.7]) == (pytest.approx(0.6), pytest.approx(0.1414, abs=1e-4))
    assert stats.mean_std([0.5]) == (0.5, None) and stats.mean_std([]) == (None, None)


def finished(values: dict[int, list[tuple[float, float | None]]]) -> dict:
    """(cell, repeat) -> (run folder, metrics) with these (val, test) accuracies."""
    return {
        (cell, repeat): (f"run-{cell}-{repeat}", RunMetrics(val_accuracy=val, test_accuracy=test, seconds=2.0))
        for cell, runs in values.items()
        for repeat, (val, test) in enumerate(runs)
    }


def test_rows_judge_on_the_test_accuracy_when_every_row_has_one() -> None:
    spec = GridSpec(base(), (parse_vary("arch.dropout=0,0.5"),), repeats=3)
    rows = grid_rows(
        spec, finished({0: [(0.99, 0.70), (0.98, 0.71), (0.99, 0.72)], 1: [(0.90, 0.95), (0.91, 0.96), (0.90, 0.955)]})
    )
    assert [row.significantly_worse_than_best for row in rows] == [True, False]  # by test, not validation
    assert best_row(rows) == 1
    assert rows[0].run_dirs == ["run-0-0", "run-0-1", "run-0-2"] and rows[0].seconds_mean == 2.0
    assert rows[0].test_accuracy_mean == pytest.approx(0.71) and rows[0].test_accuracy_std == pytest.approx(0.01)
    no_test = grid_rows(spec, finished({0: [(0.99, None), (0.98, None)], 1: [(0.90, None), (0.91, None)]}))
    assert [row.significantly_worse_than_best for row in no_test] == [False, True] and best_row(no_test) == 0
    assert no_test[0].test_accuracy_mean is None and no_test[0].test_accuracy_std is None
    partial = grid_rows(spec, finished({0: [(0.99, None)]}))
    assert partial[1].run_dirs == [] and partial[1].val_accuracy_mean is None
    assert [row.significantly_worse_than_best for row in partial] == [None, None]


# --- real grids ---------------------------------------------------------------------------------
class Recorder:
    """The observer: keeps every event; stops the grid at the first epoch of run `stop_at`."""

    def __init__(self, cancel: CancelToken, stop_at: int | None = None) -> None:
        self.cancel, self.stop_at = cancel, stop_at
        self.events: list = []
        self.current = -1

    def __call__(self, event) -> None:
        self.events.append(event)
        if isinstance(event, GridRunStarted):
            self.current = event.index
        if isinstance(event, EpochEnd) and self.current == self.stop_at:
            self.cancel.cancel()

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.mark.slow
def test_a_stopped_grid_keeps_its_runs_and_resumes_where_it_stopped(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    spec = GridSpec(base(), (parse_vary("arch.dropout=0,0.5"),), repeats=2)
    grid_dir, runs_root = tmp_path / "grid", tmp_path / "runs"
    cancel = CancelToken()
    first = Recorder(cancel, stop_at=1)
    stopped = run_grid(spec, first, cancel, grid_dir=grid_dir, runs_root=runs_root)
    assert stopped.cancelled and [e.index for e in first.of(GridRunStarted)] == [0, 1]
    finished_event = first.of(GridFinished)[-1]
    assert finished_event.cancelled and finished_event.grid_dir == str(grid_dir)
    record = json.loads((grid_dir / "grid.json").read_text())
    assert [(r["cell"], r["repeat"], r["status"]) for r in record["runs"]] == [(0, 0, "done"), (1, 0, "cancelled")]
    kept = stopped.rows[0].run_dirs
    assert len(kept) == 1 and stopped.rows[1].run_dirs == []
    assert (Path(record["runs"][1]["run_dir"]) / "model.keras").is_file()  # the stopped run is saved, as any
    assert [e.row.settings for e in first.of(GridRowUpdated)] == [{"arch.dropout": 0.0}]

    again = Recorder(CancelToken())
    resumed = run_grid(spec, again, again.cancel, grid_dir=grid_dir, runs_root=runs_root)
    assert not resumed.cancelled and resumed.failed_runs == 0
    assert [(e.index, e.cell, e.repeat) for e in again.of(GridRunStarted)] == [(1, 1, 0), (2, 0, 1), (3, 1, 1)]
    assert next(e.settings for e in again.of(GridRunStarted)) == {"arch.dropout": 0.5}
    rows = resumed.rows
    assert [len(row.run_dirs) for row in rows] == [2, 2] and rows[0].run_dirs[0] == kept[0]
    for row in rows:
        assert 0 < row.val_accuracy_mean <= 1 and row.val_accuracy_std is not None and row.seconds_mean > 0
        assert row.test_accuracy_mean is None and row.significantly_worse_than_best in (True, False)
    seeds = [json.loads((Path(d) / "config.json").read_text())["training"]["seed"] for d in rows[0].run_dirs]
    assert seeds == [7, 8]
    assert load_grid(grid_dir) == (spec, rows)
    with pytest.raises(ConfigError, match="holds another grid"):
        run_grid(
            GridSpec(base(), (parse_vary("arch.dropout=0,0.25"),), repeats=2), again, CancelToken(), grid_dir=grid_dir
        )


def test_a_failed_run_is_recorded_and_the_grid_goes_on(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    spec = GridSpec(base(), (parse_vary("data.validation=test,split"),))  # digits has no test split
    recorder = Recorder(CancelToken())
    result = run_grid(spec, recorder, recorder.cancel, runs_root=tmp_path / "runs")
    assert result.failed_runs == 1 and not result.cancelled
    assert result.grid_dir.parent == tmp_path / "grids"  # by default beside the runs
    assert "no test split" in recorder.of(Failed)[0].reason
    failed, fine = result.rows
    assert failed.run_dirs == [] and failed.val_accuracy_mean is None
    assert len(fine.run_dirs) == 1 and fine.significantly_worse_than_best is None  # one repeat: no verdict
    runs = json.loads((result.grid_dir / "grid.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["failed", "done"]
    assert runs[0]["run_dir"] is None and "no test split" in runs[0]["reason"]


def test_a_damaged_grid_file_is_named(tmp_path: Path) -> None:
    grid = tmp_path / "g"
    grid.mkdir()
    (grid / "grid.json").write_text("{not json")
    with pytest.raises(RunError, match="grid.json is not valid JSON"):
        load_grid(grid)
    (grid / "grid.json").write_text(
        json.dumps(
            {"format": "layerlab-grid", "base": {}, "repeats": 1, "factors": [{"key": "arch.nope", "values": [1]}]}
        )
    )
    with pytest.raises(RunError, match="grid.json: unknown setting 'arch.nope'"):
        load_grid(grid)
    (grid / "grid.json").write_text(
        json.dumps(
            {
                "format": "layerlab-grid",
                "base": {},
                "repeats": 1,
                "factors": [],
                "runs": [{"cell": 3, "repeat": 0, "run_dir": "x", "status": "done"}],
            }
        )
    )
    with pytest.raises(RunError, match="1 cells"):
        load_grid(grid)
    with pytest.raises(RunError, match="not a LayerLab grid"):
        load_grid(tmp_path)
