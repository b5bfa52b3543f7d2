"""The window builds fast, without TensorFlow, remembers settings, and its plots stay cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

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
    """The curves live in the session (best epoch and what they say, from the engine); the plots
    only draw them, at most ten times a second."""
    from engine import EpochRecord

    window = make_window()
    plots, curves = window.plots, window.curves
    curves.begin("test curves", 5, 10)
    redraws = plots.redraws
    for step in range(500):  # a burst of events: far fewer redraws
        curves.add_batch(0, step, 500, 1.0 / (step + 1), 0.5)
    curve = [(1.0, 0.9), (0.8, 0.7), (0.6, 0.75), (0.5, 0.8), (0.4, 0.9)]  # val loss turns up at epoch 3
    for epoch, (loss, val_loss) in enumerate(curve):
        curves.add_epoch(EpochRecord(epoch=epoch, loss=loss, accuracy=0.9, val_loss=val_loss, val_accuracy=0.5))
    qtbot.waitUntil(lambda: plots.redraws > redraws, timeout=2000)
    assert plots.redraws - redraws <= 2
    state = window.session.curves
    assert state.best == 1 and state.diagnosis.kind == "overfitting" and state.diagnosis.since == 2
    assert plots.note.isVisibleTo(window) and "Overfitting since epoch 3" in plots.note.full_text()
    x, _ = plots.loss.val_epoch.getData()
    assert list(x) == [1, 2, 3, 4, 5]
    curves.add_epoch(EpochRecord(epoch=5))  # a partial epoch without figures: nothing breaks
    curves.clear()
    assert not plots.note.isVisibleTo(window) and not window.session.curves.epochs


def test_empty_plots_say_what_appears_and_axes_count_whole_epochs(make_window, qtbot) -> None:
    from gui.panels.plots import EpochAxis

    window = make_window()
    plots = window.plots
    assert plots.loss.empty.isVisibleTo(window) and "loss" in plots.loss.empty.text().lower()
    assert not plots.loss.left.style["showValues"] and not plots.loss.bottom.style["showValues"]
    axis = EpochAxis("bottom")
    for low, high, pixels in ((0, 3.4, 400), (0, 20.4, 300), (0, 1000, 200), (2.5, 2.9, 300)):
        for _spacing, values in axis.tickValues(low, high, pixels):
            assert all(float(v).is_integer() for v in values)
    assert axis.tickValues(0, 3.4, 400)[0][1] == [0.0, 1.0, 2.0, 3.0]
    window.curves.begin("a tiny loss range", 3, 10)
    for epoch in range(3):  # losses that differ in the fifth decimal still get numbers on the axis
        window.curves.add_epoch(_record(epoch, 0.05001 + epoch * 1e-5))
    qtbot.waitUntil(lambda: plots.loss.left.style["showValues"], timeout=2000)
    assert not plots.loss.empty.isVisibleTo(window)


def _record(epoch: int, loss: float) -> Any:
    from engine import EpochRecord

    return EpochRecord(epoch=epoch, loss=loss, accuracy=0.9, val_loss=loss, val_accuracy=0.9)


def test_a_model_at_chance_is_told_it_is_not_learning_not_to_add_dropout(make_window, qtbot) -> None:
    from engine import EpochRecord

    window = make_window()
    window.curves.begin("a frozen random base", 4, 10)
    for epoch, (loss, val_loss) in enumerate(((2.31, 2.30), (2.30, 2.31), (2.29, 2.32), (2.28, 2.33))):
        window.curves.add_epoch(EpochRecord(epoch=epoch, loss=loss, accuracy=0.11, val_loss=val_loss, val_accuracy=0.1))
    note = window.plots.note
    assert window.session.curves.diagnosis.kind == "not_learning" and note.isVisibleTo(window)
    assert "Not learning" in note.full_text() and "dropout" not in note.full_text()
    assert "frozen" in note.toolTip()  # the advice, whole, on demand


def test_random_weights_unfreeze_a_frozen_base_and_say_why(make_window, qtbot) -> None:
    window = make_window()
    config = window.session.config
    config.update(**{"arch.name": "mobilenet_v2", "arch.weights": "imagenet", "arch.freeze_base": True})
    assert config.config.arch.freeze_base
    config.update(**{"arch.weights": "none"})
    assert not config.config.arch.freeze_base  # a frozen random base would stay at chance
    assert "unfrozen" in window.message_bar.text and window.message_bar.level == "warning"
    assert not window.model_panel.freeze_base.isChecked()


def test_classes_of_an_npz_can_be_named_beside_it_and_are_used(make_window, qtbot, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    data = tmp_path / "pets.npz"
    np.savez(data, x=rng.integers(0, 255, (60, 8, 8), dtype=np.uint8), y=np.arange(60) % 3)
    before = data.read_bytes()
    window = make_window(**{"data.name": f"npz:{data}"})
    qtbot.waitUntil(lambda: window.session.data.status == "ready" and not window.data.busy, timeout=60_000)
    panel = window.data_panel
    assert panel.name_button.isVisibleTo(window) and window.session.data.dataset.class_names == ["0", "1", "2"]
    panel.class_names_chosen.emit(["cat", "dog", "bird"])
    qtbot.waitUntil(
        lambda: (
            window.session.data.status == "ready" and window.session.data.dataset.class_names == ["cat", "dog", "bird"]
        ),
        timeout=60_000,
    )
    assert data.read_bytes() == before and (tmp_path / "pets.npz.layerlab-classes.json").is_file()
    panel.class_names_chosen.emit(["cat", "cat", "bird"])  # refused in one line, nothing changes
    qtbot.waitUntil(lambda: "cannot share a name" in window.message_bar.text, timeout=30_000)
    assert window.session.data.dataset.class_names == ["cat", "dog", "bird"]
    window.session.config.update(**{"data.name": "digits"})
    qtbot.waitUntil(lambda: window.session.data.status == "ready" and not window.data.busy, timeout=60_000)
    assert not panel.name_button.isVisibleTo(window)  # digits name their classes themselves
