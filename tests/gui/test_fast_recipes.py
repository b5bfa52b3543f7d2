"""The fast recipe in the window: the Training tab's "Fast" choice fills (and shows) its settings
and puts the earlier ones back, the "Stop at" field, the curves against seconds of training (a
saved run without recorded seconds too), and a lesson's "Run it fast"."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from engine import ExperimentConfig, apply_recipe
from gui.panels.compare import FIGURES, ComparisonPanel
from gui.panels.plots import PlotsPanel
from gui.panels.training import TrainingPanel
from gui.session import ConfigStore, CurvesState
from tests.gui.conftest import TRAIN_TIMEOUT_MS
from tests.gui.test_lessons import _menu_action


def _choose(combo: Any, data: str) -> None:
    combo.setCurrentIndex(combo.findData(data))
    combo.activated.emit(combo.currentIndex())


@pytest.fixture
def keras_home(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty Keras cache, downloads refused (as tests/gui/test_lessons.py sets it up)."""
    import urllib.error

    import keras
    import keras.src.backend.config as keras_config
    from keras.src.utils import file_utils

    def offline(*args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError("no network in tests")

    home = tmp_path / "keras_home"
    (home / "datasets").mkdir(parents=True)
    (home / "models").mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: offline())
    return home


@pytest.fixture
def panel(qtbot: Any) -> TrainingPanel:
    textbook = ExperimentConfig().updated(
        **{
            "data.name": "shapes",
            "arch.name": "bn_cnn",
            "training.optimizer": "rmsprop",
            "training.learning_rate": 0.0001,
            "training.epochs": 10,
        }
    )
    widget = TrainingPanel(ConfigStore(textbook))
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_the_fast_choice_fills_the_settings_it_shows_and_textbook_puts_them_back(panel: TrainingPanel) -> None:
    textbook = panel.store.config
    _choose(panel.recipe, "fast")
    fast = apply_recipe(textbook, "fast")
    assert panel.store.config == fast
    t = fast.training
    assert panel.optimizer.currentText() == "adam" and panel.lr.value() == pytest.approx(t.learning_rate)
    assert (panel.batch.value(), panel.epochs.value()) == (t.batch_size, t.epochs)
    assert panel.schedule.currentData() == t.schedule and panel.schedule_per.currentData() == "batch"
    assert panel.smoothing.value() == pytest.approx(0.1) and panel.tta.isChecked()
    note = panel.recipe_note.text()
    assert panel.recipe_note.isVisibleTo(panel) and "optimizer rmsprop → adam" in note and "epochs 10 → " in note
    panel.epochs.setValue(2)  # every filled setting stays editable
    assert panel.store.config.training.epochs == 2
    _choose(panel.recipe, "textbook")
    assert panel.store.config == textbook and not panel.recipe_note.isVisibleTo(panel)
    assert panel.optimizer.currentText() == "rmsprop" and panel.epochs.value() == 10


def test_an_architecture_without_a_fast_recipe_says_so_and_changes_nothing(panel: TrainingPanel) -> None:
    panel.store.update(**{"arch.name": "capsnet"})
    before = panel.store.config
    _choose(panel.recipe, "fast")
    assert panel.store.config == before and panel.recipe.currentData() == "textbook"
    assert "fast recipe is for the classifiers built from scratch" in panel.recipe_note.text()


def test_stop_at_sets_the_target_accuracy(panel: TrainingPanel) -> None:
    assert panel.store.config.training.target_accuracy is None and not panel.target.isEnabled()
    panel.target_on.setChecked(True)
    panel.target.setValue(97.5)
    assert panel.store.config.training.target_accuracy == pytest.approx(0.975)
    panel.target_on.setChecked(False)
    assert panel.store.config.training.target_accuracy is None


FIGURE_KEYS = [attribute for _, attribute, _ in FIGURES]


def _epoch(epoch: int, elapsed: float | None, seconds: float = 2.0) -> Any:
    return SimpleNamespace(
        epoch=epoch,
        loss=1.0 / (epoch + 1),
        accuracy=0.5,
        val_loss=1.0 / (epoch + 1),
        val_accuracy=0.4 + epoch / 10,
        seconds=seconds,
        stage=1,
        learning_rate=0.001,
        elapsed_seconds=elapsed,
    )


def test_the_curves_draw_against_seconds_of_training(qtbot: Any) -> None:
    plots = PlotsPanel()
    qtbot.addWidget(plots)
    curves = CurvesState(generation=1, planned=3)  # a training begins
    plots.show_curves(curves)
    for epoch, elapsed in enumerate((4.0, 5.0, 6.5)):
        plots.add_batch(epoch, 9, 10, 0.5, 0.5, elapsed - 0.1)
        curves = replace(curves, epochs=(*curves.epochs, _epoch(epoch, elapsed)))
        plots.show_curves(curves)
    plots._redraw()
    assert list(plots.accuracy.val_epoch.getData()[0]) == [1.0, 2.0, 3.0]
    plots.axis.setCurrentIndex(plots.axis.findData("seconds"))
    assert plots.x_axis == "seconds"
    assert list(plots.accuracy.val_epoch.getData()[0]) == [4.0, 5.0, 6.5]
    assert list(plots.loss.batch_raw.getData()[0]) == pytest.approx([3.9, 4.9, 6.4])
    assert plots.loss.widget.getPlotItem().getAxis("bottom").labelText == "seconds of training"
    plots.set_x_axis("epochs")
    assert list(plots.accuracy.val_epoch.getData()[0]) == [1.0, 2.0, 3.0]


def test_runs_saved_without_seconds_fall_back_on_their_epochs_durations(qtbot: Any) -> None:
    plots = PlotsPanel()
    qtbot.addWidget(plots)
    plots.set_x_axis("seconds")
    old_run = (_epoch(0, None, 1.5), _epoch(1, None, 2.5))
    plots.show_curves(CurvesState(generation=1, title="an old run", epochs=old_run))
    plots._redraw()
    assert list(plots.accuracy.val_epoch.getData()[0]) == [1.5, 4.0]

    comparison = ComparisonPanel()
    qtbot.addWidget(comparison)
    comparison.set_x_axis("seconds")
    new, old = [_epoch(0, 0.5), _epoch(1, 1.0)], [_epoch(0, None, 3.0), _epoch(1, None, 3.0)]
    runs = [SimpleNamespace(label=label, run_dir=label, **dict.fromkeys(FIGURE_KEYS)) for label in ("fast", "old")]
    comparison.show_comparison(SimpleNamespace(runs=runs, differences={}), [new, old])
    xs = [list(curve.getData()[0]) for curve in comparison.accuracy.run_curves]
    assert xs == [[0.5, 1.0], [0.5, 1.0], [3.0, 6.0], [3.0, 6.0]]
    comparison.set_x_axis("epochs")
    assert list(comparison.accuracy.run_curves[0].getData()[0]) == [1.0, 2.0]
    assert math.isfinite(comparison.accuracy.run_curves[0].getData()[1][0])


@pytest.mark.slow
@pytest.mark.usefixtures("keras_home")
def test_run_it_fast_trains_the_lesson_with_the_fast_recipe(window, qtbot) -> None:
    _menu_action(window, "mlp_mnist").trigger()
    assert window.session.lesson.status == "unavailable"  # no MNIST in the empty cache
    window.lessons.use_fallback()
    card = window.lesson_card
    assert card.fast.isVisibleTo(window) and card.run.isVisibleTo(window)
    with qtbot.waitSignal(window.lessons.finished, timeout=TRAIN_TIMEOUT_MS) as done:
        card.fast.click()
        config = window.session.config.config
        assert config.training.recipe == "fast" and config.training.schedule != "constant"
        assert window.training_panel.recipe.currentData() == "fast"
    assert done.args[0].recipe == "fast" and "fast recipe" in card.yours_caption.text()
    assert "accuracy" in done.args[0].figure
    window.lessons.run("textbook")  # the lesson's own settings come back
    assert window.session.config.config.training.optimizer == "rmsprop"
    assert window.session.config.config.training.recipe == "textbook"
    window.training.stop()
    qtbot.waitUntil(lambda: not window.training.busy, timeout=TRAIN_TIMEOUT_MS)
