"""The classic lessons in the window: the Lessons menu, a lesson's recipe set up, the
fallback to digits when its data is not downloaded, a comparison lesson run as a grid with the
learner's figure beside the published one, the autoencoder view, and a CapsNet classifying a
dropped image. Real tiny trainings on digits; Keras's cache is a temporary folder (never a
download), with a small mnist.npz placed in it where a test needs MNIST "downloaded"."""

from __future__ import annotations

import urllib.error
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QUrl

from engine.lessons import get_lesson, list_lessons
from tests.engine import keras_cache
from tests.gui.conftest import TRAIN_TIMEOUT_MS, wait_table

GRID_TIMEOUT_MS = 300_000


@pytest.fixture
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras cache (`datasets/`, `models/`); any download fails at once."""
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


def _menu_action(window: Any, name: str) -> Any:
    return next(a for a in window.lessons_menu.actions() if a.data() == name)


def _small(window: Any, **more: Any) -> None:
    """Shrink the lesson as set up to a test's size (what a learner may do as well)."""
    window.session.config.update(**{"data.limit": 150, "training.epochs": 1, "training.batch_size": 32, **more})


def _drop(window: Any, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.handle_drop(mime)


def test_the_lessons_menu_sets_up_a_recipe_and_says_what_is_missing(make_window, qtbot, keras_home: Path) -> None:
    keras_cache.fake_mnist(keras_home / "datasets")
    window = make_window()
    actions = window.lessons_menu.actions()
    assert [a.data() for a in actions] == [lesson.name for lesson in list_lessons()] and len(actions) == 10
    assert all(a.toolTip() == a.statusTip() == get_lesson(a.data()).note for a in actions)

    own = window.session.config.config  # the user's settings before any lesson
    _menu_action(window, "mlp_mnist").trigger()  # MNIST is in the cache: set up at once
    config = window.session.config.config
    assert (config.data.name, config.arch.name, config.arch.dropout, config.arch.dropout_rate) == (
        "mnist",
        "mlp",
        True,
        0.5,
    )
    assert (config.training.optimizer, config.training.batch_size, config.training.epochs) == ("rmsprop", 256, 20)
    card = window.lesson_card
    assert card.isVisibleTo(window) and window.session.lesson.status == "ready"
    assert "784 numbers" in card.note.text() and "98.07 %" in card.published.text()
    assert (
        card.run.isVisibleTo(window) and not card.fallback.isVisibleTo(window) and not card.warning.isVisibleTo(window)
    )
    assert window.model_panel.preset.currentData() == "mlp" and window.model_panel.dropout.isChecked()
    qtbot.waitUntil(lambda: window.session.data.status in ("ready", "failed") and not window.data.busy, timeout=120_000)
    assert window.session.data.status == "ready", window.session.data.error  # read from the cache, not downloaded

    _menu_action(window, "imagenet_models").trigger()  # no weights: said where to put them, no fallback
    lesson = window.session.lesson
    assert lesson.status == "unavailable" and lesson.network == "mobilenet_v2" and card.network.isVisibleTo(window)
    assert "imagenet_class_index.json" in card.warning.text() and str(keras_home / "models") in card.warning.text()
    assert not card.run.isVisibleTo(window) and not card.fallback.isVisibleTo(window)
    card.network.setCurrentIndex(card.network.findData("resnet50"))
    card.network.activated.emit(card.network.currentIndex())
    assert window.session.lesson.network == "resnet50" and "resnet50_weights" in card.warning.text()
    assert window.session.config.config.arch.name == "mlp"  # an unavailable lesson changes nothing
    card.close_requested.emit()
    assert not card.isVisibleTo(window) and window.centre.current() == "curves"
    config = window.session.config.config  # the settings the user had before the first lesson are back
    assert config.model_dump() == own.model_dump() and config.lesson is None
    assert (config.data.name, config.training.epochs, config.training.batch_size) != ("mnist", 20, 256)


@pytest.mark.slow
def test_a_comparison_lesson_offline_runs_as_a_grid_on_digits_beside_the_published_figure(
    window, qtbot, keras_home: Path
) -> None:
    plan_before = window.session.grid_plan.value
    _menu_action(window, "overfitting_regularisation").trigger()
    card, lesson = window.lesson_card, window.session.lesson
    assert lesson.status == "unavailable" and lesson.fallback == "digits"
    assert "mnist.npz" in card.warning.text() and "published figure then does not apply" in card.warning.text()
    assert card.fallback.isVisibleTo(window) and card.fallback.text() == "Run on digits instead"
    assert window.session.grid_plan.value == plan_before and window.session.config.config.data.name == "digits"

    window.lessons.use_fallback()  # what the button does, before it runs
    plan = window.session.grid_plan.value
    assert [(f.key, f.values) for f in plan.factors] == [("arch.dropout", "0.0, 0.5"), ("arch.batchnorm", "off, on")]
    assert plan.repeats == 1 and "4 combinations" in window.grid_panel.summary.text()
    config = window.session.config.config
    assert (config.data.name, config.arch.name, config.training.batch_size) == ("digits", "mlp", 128)
    assert (
        "published figure does not apply" in card.warning.text() and "does not apply" in card.published_caption.text()
    )
    _small(window)
    wait_table(qtbot, window)
    with qtbot.waitSignal(window.lessons.finished, timeout=GRID_TIMEOUT_MS) as done:
        card.run.click()
        assert window.session.lesson.status == "running" and window.session.grid.status == "running"
    figure = done.args[0].figure
    assert figure.count(" | ") == 3 and "dropout off · bn off" in figure and "accuracy" in figure, figure
    assert card.yours.isVisibleTo(window) and "dropout 0.5" in card.yours.text() and "99.87 %" in card.published.text()
    assert "Yours (on digits)" == card.yours_caption.text()
    grid = window.session.grid
    assert grid.status == "finished" and len(grid.rows) == 4 and "grid" in window.centre.available()
    assert window.centre.current() == "lesson"  # the figures beside the published one: the lesson's answer
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):  # Train works as usual afterwards
        window.run_bar.train.click()
    assert window.session.lesson.figure == figure


def test_an_autoencoder_trains_shows_its_reconstructions_and_reconstructs_a_dropped_image(
    window, qtbot, digit_png: Path
) -> None:
    panel = window.model_panel
    panel.task.setCurrentIndex(panel.task.findData("autoencoder"))
    panel.task.activated.emit(panel.task.currentIndex())
    config = window.session.config.config
    assert (config.task, config.arch.name) == ("autoencoder", "conv_autoencoder") and not panel.noise.isHidden()
    panel.noise.setValue(0.3)
    assert window.session.config.config.arch.noise == 0.3
    assert not window.plots.accuracy.widget.isVisibleTo(window) and "n/a" in window.plots.loss.widget.toolTip()
    window.session.config.update(**{"data.limit": 200, "training.epochs": 1})
    wait_table(qtbot, window)
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as done:
        window.run_bar.train.click()
    metrics = done.args[0].metrics
    assert metrics.reconstruction_error is not None and "reconstruction error" in window.message_bar.text
    assert len(window.plots.series["loss_raw"]) > 0 and len(window.plots.series["acc_raw"]) == 0
    qtbot.waitUntil(lambda: window.session.autoencoder.status == "ready", timeout=60_000)
    view = window.reconstructions
    samples = window.session.autoencoder.samples
    assert view.isVisibleTo(window) and view.samples == len(samples) == 5
    assert all(image.shape == (8, 8, 1) and image.dtype.name == "uint8" for row in samples for image in row)
    assert "noisy input (noise σ=0.3)" in view.note.text()
    assert window.session.classifier.classifier is None  # an autoencoder classifies nothing

    cards_before = len(window.classify_panel.cards)
    with qtbot.waitSignal(window.autoencoder.reconstructed, timeout=60_000) as shown:
        _drop(window, digit_png)
    result = view.results[shown.args[0]]
    assert not result.problem and result.reconstruction.shape == result.original.shape == (8, 8, 1)
    assert 0.0 <= result.error < 1.0 and len(window.classify_panel.cards) == cards_before


def test_a_capsnet_lesson_on_digits_classifies_a_dropped_image_with_capsule_lengths(
    window, qtbot, keras_home: Path, digit_png: Path
) -> None:
    _menu_action(window, "capsnet_mnist").trigger()
    assert window.session.lesson.status == "unavailable"
    window.lessons.use_fallback()
    assert window.session.config.config.arch.name == "capsnet" and window.session.config.config.data.name == "digits"
    _small(window)
    wait_table(qtbot, window)
    with qtbot.waitSignal(window.lessons.finished, timeout=TRAIN_TIMEOUT_MS) as done:
        window.lesson_card.run.click()
    assert "accuracy after 1 epoch" in done.args[0].figure and "99.75 %" in window.lesson_card.published.text()
    qtbot.waitUntil(lambda: window.session.classifier.classifier is not None, timeout=60_000)
    with qtbot.waitSignal(window.classified, timeout=60_000) as classified:
        _drop(window, digit_png)
    card = window.classify_panel.cards[classified.args[0]]
    assert card.prediction is not None and card.prediction.lengths is not None
    assert "capsule length" in card.bars.toolTip() and "capsule lengths" in card.name.text()
    qtbot.waitUntil(lambda: any(run.lesson == "capsnet_mnist" for run in window.runs_panel.summaries), timeout=30_000)
    row = next(i for i, run in enumerate(window.runs_panel.summaries) if run.lesson == "capsnet_mnist")
    assert window.runs_panel.model.index(row, 2).data() == "lesson"  # the lesson's runs are marked as its
    assert 0.99 < sum(p for _, p in card.prediction.top) or len(card.prediction.top) < 10
