"""Runs side by side and grids of runs, in the window: real tiny trainings on digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from engine.config import ExperimentConfig

GRID_TIMEOUT_MS = 240_000


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real runs that differ in dropout only."""
    from engine.training.trainer import train

    root = tmp_path_factory.mktemp("compare_runs")
    base = ExperimentConfig().updated(**{"data.name": "digits", "data.limit": 200, "training.epochs": 2})
    for rate in (0.2, 0.5):
        result = train(base.updated(**{"arch.dropout_rate": rate}), runs_root=root)
        assert result.failed is None, result.failed
    return root


def test_selected_runs_overlay_their_curves_and_list_what_differs(window, qtbot, two_runs: Path) -> None:
    window.runs.root = two_runs
    window.runs.refresh()
    qtbot.waitUntil(lambda: window.runs_panel.model.rowCount() == 2, timeout=10_000)
    assert not window.runs_panel.compare_button.isEnabled()
    window.runs_panel.table.selectAll()
    assert window.runs_panel.compare_button.isEnabled() and window.runs_panel.compare_button.text() == "Compare 2"
    window.runs_panel.compare_button.click()
    qtbot.waitUntil(lambda: window.session.runs.compared is not None, timeout=30_000)
    comparison = window.session.runs.compared.comparison
    assert list(comparison.differences) == ["arch.dropout"]  # the rate in force (0 when off)
    panel = window.comparison_panel
    assert window.centre.current() == "comparison" and panel.isVisibleTo(window)  # a new comparison opens its view
    for plot in (panel.loss, panel.accuracy):
        assert len(plot.run_curves) == 4  # per run: training dashed, validation solid
    assert not window.plots.loss.run_curves  # the live curves are never touched by a comparison
    model = panel.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    tips = [model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole) for c in (1, 2)]
    assert headers == ["", "Run 1", "Run 2"] and sorted(tip.split("\n")[0] for tip in tips) == [
        "dropout 0.2",
        "dropout 0.5",
    ]
    rows = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert rows[0] == "dropout" and "Val acc" in rows and "Trainable" in rows  # every row whole: none hidden
    panel.close_requested.emit()
    assert window.centre.current() == "curves" and "comparison" not in window.centre.available()


def _wait_grid(qtbot: Any, window: Any, status: str) -> None:
    qtbot.waitUntil(lambda: window.session.grid.status == status and not window.training.busy, timeout=GRID_TIMEOUT_MS)


@pytest.mark.slow
def test_a_grid_runs_its_combinations_stops_and_resumes(window, qtbot) -> None:
    window.session.config.update(**{"training.epochs": 2, "data.limit": 150})
    window.session.grid_plan.update(
        factors=[{"key": "arch.dropout", "values": "off, on"}, {"key": "arch.batchnorm", "values": "off, on"}],
        repeats=1,
    )
    assert "4 combinations" in window.grid_panel.summary.text() and "4 runs" in window.grid_panel.summary.text()
    rows_seen: list[int] = []
    window.session.events.grid.connect(lambda grid: rows_seen.append(len(grid.rows)))
    window.grid_panel.run_button.click()
    assert window.session.training.running and not window.grid_panel.run_button.isEnabled()
    qtbot.waitUntil(lambda: len(window.session.grid.rows) >= 1, timeout=GRID_TIMEOUT_MS)
    assert "run " in window.run_bar.progress.format() or window.session.training.run_note
    window.training.stop()
    _wait_grid(qtbot, window, "stopped")
    finished_before = sum(len(row.run_dirs) for row in window.session.grid.rows)
    assert 1 <= finished_before < 4 and window.grid_panel.resume_button.isEnabled()
    assert "Resume" in window.message_bar.text
    window.grid_panel.resume_button.click()
    _wait_grid(qtbot, window, "finished")
    grid = window.session.grid
    assert len(grid.rows) == 4 and all(len(row.run_dirs) == 1 for row in grid.rows)
    assert window.centre.current() == "grid" and window.grid_results.isVisibleTo(window)
    assert window.grid_results.model.rowCount() == 4
    assert rows_seen == sorted(rows_seen)  # rows only ever fill in
    assert "Grid finished" in window.message_bar.text and window.run_bar.train.isEnabled()
    qtbot.waitUntil(lambda: window.runs_panel.model.rowCount() >= 4, timeout=10_000)


def test_a_held_out_test_set_is_evaluated_once_and_shown(window, qtbot) -> None:
    from tests.gui.conftest import TRAIN_TIMEOUT_MS

    panel = window.data_panel
    panel.test_spin.setValue(25)
    panel.test_check.setChecked(True)
    assert window.session.config.config.data.test_split == 0.25
    qtbot.waitUntil(
        lambda: window.session.data.status == "ready" and window.session.data.dataset.counts()["test"] > 0,
        timeout=60_000,
    )
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as done:
        window.training.start()
    metrics = done.args[0].metrics
    assert metrics.test_count > 0 and not metrics.test_is_validation
    errors = window.errors_panel
    assert (
        errors.tiles["test_accuracy"].isVisibleTo(errors)
        and errors.values["test_accuracy"].text() == f"{metrics.test_accuracy:.1%}"
    )
    assert "never seen" in errors.tiles["test_accuracy"].findChildren(type(errors.note))[1].text()
    qtbot.waitUntil(lambda: window.runs_panel.model.rowCount() == 1, timeout=10_000)
    tooltip = window.runs_panel.model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert f"test accuracy {metrics.test_accuracy:.1%}" in tooltip

    combo = window.training_panel.validate_on
    combo.setCurrentIndex(combo.findData("test"))
    combo.activated.emit(combo.currentIndex())
    assert window.session.config.config.data.validation == "test"
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as again:
        window.training.start()
    assert again.args[0].metrics.test_is_validation
    assert "no untouched test set" in errors.tiles["test_accuracy"].findChildren(type(errors.note))[1].text()
