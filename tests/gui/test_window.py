"""The window builds fast, without TensorFlow, remembers settings, and its plots stay cheap."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_gui_modules_do_not_import_tensorflow() -> None:
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "import gui.app, gui.main_window, gui.jobs, gui.tasks, gui.session, gui.binding\n"
        "import gui.controllers.training, gui.controllers.classify, gui.controllers.runs, gui.controllers.results\n"
        "import gui.panels.data, gui.panels.model, gui.panels.training, gui.panels.plots\n"
        "import gui.panels.classify, gui.panels.errors, gui.panels.runs\n"
        "import gui.controllers.keep, gui.controllers.lr_finder, gui.controllers.export, gui.export_dialog\n"
        "import gui.panels.lr_finder\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) < 5.0


def test_window_builds(make_window, qtbot) -> None:
    window = make_window()
    assert window.windowTitle() == "LayerLab"
    assert [window.controls.tabText(i) for i in range(window.controls.count())] == [
        "Data",
        "Model",
        "Augment",
        "Training",
        "Grid",
    ]
    assert window.results.tabText(0) == "Classify"
    assert window.acceptDrops()
    assert window.run_bar.train.isEnabled() and not window.run_bar.stop.isEnabled()


def test_settings_persist_between_launches(make_window, qtbot) -> None:
    first = make_window()
    first.session.config.update(**{"training.epochs": 7, "training.learning_rate": 0.0005, "arch.dropout_rate": 0.3})
    first.close()
    second = make_window()
    config = second.session.config.config
    assert (config.training.epochs, config.training.learning_rate, config.arch.dropout_rate) == (7, 0.0005, 0.3)
    assert second.training_panel.epochs.value() == 7
    assert abs(second.model_panel.rate.value() - 0.3) < 1e-9


def test_shrink_rule_control_and_settings_saved_by_an_older_layerlab(make_window, tmp_path: Path) -> None:
    """Remembered choices from before the resample rule was recorded start on today's fast rule
    (a run's config would keep Lanczos); the control applies to class folders only."""
    from gui.settings import Settings

    Settings().store.setValue("experiment/config", '{"schema_version": 1, "training": {"epochs": 9}}')
    window = make_window()
    config = window.session.config
    assert config.config.training.epochs == 9 and config.config.data.resample == "bilinear"
    combo = window.data_panel.resample_combo
    assert combo.currentData() == "bilinear" and not combo.isEnabled()  # digits: nothing to shrink
    (tmp_path / "photos" / "a").mkdir(parents=True)
    config.update(**{"data.name": f"folder:{tmp_path / 'photos'}"})
    assert combo.isEnabled()
    combo.setCurrentIndex(combo.findData("lanczos"))
    combo.activated.emit(combo.currentIndex())  # what a person's pick sends
    assert config.config.data.resample == "lanczos"


def test_invalid_value_is_refused_with_a_message(make_window) -> None:
    window = make_window()
    assert not window.session.config.update(**{"training.batch_size": 0})
    assert window.session.config.config.training.batch_size == 64
    assert "batch_size" in window.message_bar.text


def test_growing_series_doubles() -> None:
    from gui.panels.plots import GrowingSeries

    series = GrowingSeries(capacity=4)
    for i in range(1000):
        series.append(i, i * 2)
    assert len(series) == 1000
    assert np.array_equal(series.y, np.arange(1000) * 2)


def test_plots_best_epoch_overfitting_and_throttled_redraws(make_window, qtbot) -> None:
    window = make_window()
    plots = window.plots
    plots.reset()
    redraws = plots.redraws
    for step in range(500):  # a burst of events: far fewer redraws
        plots.add_batch(0, step, 500, 1.0 / (step + 1), 0.5)
    curve = [(1.0, 0.9), (0.8, 0.7), (0.6, 0.75), (0.5, 0.8), (0.4, 0.9)]  # val loss turns up at epoch 3
    for epoch, (loss, val_loss) in enumerate(curve):
        plots.add_epoch(epoch, loss, 0.5, val_loss, 0.5)
    qtbot.waitUntil(lambda: plots.redraws > redraws, timeout=2000)
    assert plots.redraws - redraws <= 2
    assert plots.best_epoch() == 1
    assert plots.overfitting_since() == 2
    assert plots.overfit.isVisibleTo(window) and "Overfitting" in plots.overfit.text()
    x, _ = plots.loss.val_epoch.getData()
    assert list(x) == [1, 2, 3, 4, 5]
    plots.add_epoch(5, math.nan, math.nan, math.nan, math.nan)  # a partial epoch: nothing breaks
    plots.reset()
    assert not plots.overfit.isVisibleTo(window)
