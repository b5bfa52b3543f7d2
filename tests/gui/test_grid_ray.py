"""A grid on Ray from the window's Grid tab: where the runs train is chosen there and kept in the
preferences, and a 4-run grid trains on a real local Ray instance (127.0.0.1, 2 CPUs)."""

from __future__ import annotations

import pytest

from tests.ray_local import local_ray

ray_instance = pytest.fixture(scope="module")(local_ray)
GRID_TIMEOUT_MS = 240_000


def test_where_the_runs_train_is_a_preference(window) -> None:
    panel = window.grid_panel
    assert panel.where.currentData() == "local" and not panel.address.isEnabled() and not panel.workers.isEnabled()
    panel.where.setCurrentIndex(panel.where.findData("cluster"))
    panel.where.activated.emit(panel.where.currentIndex())
    assert window.session.preferences.value.grid_executor == "cluster" and panel.address.isEnabled()
    panel.address.setText("ray://head:port")
    panel.address.editingFinished.emit()
    assert window.session.preferences.value.cluster_address == ""  # refused, with a one-line reason
    assert "looks like ray://HOST:PORT" in window.message_bar.text
    panel.address.setText("ray://10.1.2.3:10001")
    panel.address.editingFinished.emit()
    assert window.session.preferences.value.cluster_address == "ray://10.1.2.3:10001"
    window.session.preferences.update(cluster_address="")
    panel.run_button.click()
    assert "enter the Ray cluster's address" in window.message_bar.text and not window.training.busy


@pytest.mark.slow
def test_a_grid_runs_on_ray_from_the_grid_tab(ray_instance, window, qtbot) -> None:
    window.session.config.update(**{"training.epochs": 2, "data.limit": 150})
    window.session.grid_plan.update(factors=[{"key": "arch.dropout", "values": "off, on"}], repeats=2)
    window.session.preferences.update(grid_executor="ray", grid_workers=2)
    assert window.grid_panel.workers.isEnabled() and window.grid_panel.workers.value() == 2
    at_once: list[int] = []
    window.session.events.grid.connect(lambda grid: at_once.append(len(grid.running)))
    window.grid_panel.run_button.click()
    assert window.session.training.running and "Ray" in window.session.grid.where
    qtbot.waitUntil(
        lambda: window.session.grid.status == "finished" and not window.training.busy, timeout=GRID_TIMEOUT_MS
    )
    grid = window.session.grid
    assert [len(row.run_dirs) for row in grid.rows] == [2, 2] and max(at_once) == 2
    assert window.grid_results.model.rowCount() == 2 and "Grid finished" in window.message_bar.text
