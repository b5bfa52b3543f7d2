"""Real (tiny) trainings on digits: curves, stop, errors that do not stop the app, clean close."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.core.events import BatchEnd, EpochEnd, Started
from tests.gui.conftest import TRAIN_TIMEOUT_MS, wait_ready


def test_tiny_training_populates_curves_metrics_and_runs(window, qtbot) -> None:
    events = []
    window.training.event.connect(events.append)
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.run_bar.train.click()
        assert not window.run_bar.train.isEnabled() and window.run_bar.stop.isEnabled()
        assert not window.model_panel.preset.isEnabled() and not window.data_panel.combo.isEnabled()
    result = finished.args[0]
    assert result.failed is None and not result.cancelled
    kinds = {type(e) for e in events}
    assert {Started, BatchEnd, EpochEnd} <= kinds
    counts = window.plots.point_counts()
    assert len(window.session.curves.epochs) == 2 and counts["val_loss"] == 2 and counts["loss_raw"] >= 2
    qtbot.waitUntil(
        lambda: (
            window.plots.loss.val_epoch.getData()[0] is not None and len(window.plots.loss.val_epoch.getData()[0]) == 2
        ),
        timeout=2000,
    )
    assert window.run_bar.device.text().endswith(next(e for e in events if isinstance(e, Started)).device)
    assert "Finished" in window.run_bar.progress.format()
    metrics = window.errors_panel.metrics
    assert metrics.val_count > 0
    assert window.errors_panel.count.text() == f"{metrics.misclassified_count:,} errors / {metrics.val_count:,}"
    matrix = metrics.confusion_matrix
    assert window.errors_panel.confusion_box.isVisibleTo(window.errors_panel)
    assert window.errors_panel.confusion.matrix == matrix and len(window.errors_panel.class_names) == len(matrix)
    assert sum(map(sum, matrix)) == metrics.val_count
    assert window.run_bar.train.isEnabled() and window.model_panel.preset.isEnabled()
    qtbot.waitUntil(lambda: window.runs_panel.model.rowCount() == 1, timeout=10_000)
    assert (Path(result.run_dir) / "model.keras").is_file()
    qtbot.waitUntil(lambda: window.session.classifier.classifier is not None, timeout=30_000)


def test_stop_mid_run_saves_and_next_training_starts(window, qtbot) -> None:
    window.session.config.update(**{"training.epochs": 200, "data.limit": None})
    qtbot.waitUntil(
        lambda: not window.data.busy and window.session.data.dataset.counts()["train"] > 300, timeout=60_000
    )
    first_epoch = []
    window.training.event.connect(lambda e: isinstance(e, EpochEnd) and first_epoch.append(e))
    window.training.start()
    qtbot.waitUntil(lambda: bool(first_epoch), timeout=TRAIN_TIMEOUT_MS)
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.run_bar.stop.click()
    result = finished.args[0]
    assert result.cancelled and result.failed is None
    assert len(result.history) < 200
    assert json.loads((Path(result.run_dir) / "history.json").read_text())
    assert "Stopped" in window.run_bar.progress.format()
    window.session.config.update(**{"training.epochs": 1, "data.limit": 200})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as again:
        window.training.start()
    assert again.args[0].failed is None and not again.args[0].cancelled


def test_bad_dataset_is_a_message_and_app_keeps_working(window, qtbot, tmp_path) -> None:
    missing = tmp_path / "nothing_here.npz"
    with qtbot.waitSignal(window.dataset_loaded, timeout=60_000):
        window.session.config.update(**{"data.name": f"npz:{missing}"})
    assert window.session.data.dataset is None
    assert "Dataset problem" in window.message_bar.text and window.message_bar.level == "error"
    assert "⚠" in window.data_panel.status.text()
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as failed:
        window.training.start()  # the engine itself refuses the data: a Failed event, not a crash
    assert failed.args[0].failed
    assert window.message_bar.level == "error" and window.run_bar.train.isEnabled()
    with qtbot.waitSignal(window.dataset_loaded, timeout=60_000):
        window.session.config.update(**{"data.name": "digits"})
    window.session.config.update(**{"training.epochs": 1})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as ok:
        window.training.start()
    assert ok.args[0].failed is None


def test_train_clicked_before_engine_ready_waits_then_starts(make_window, qtbot) -> None:
    window = make_window(**{"data.limit": 200, "training.epochs": 1})
    window.training.start()  # maybe before TensorFlow is loaded: it must wait visibly, then start
    assert window.session.training.running
    if not window.session.engine.ready:
        assert "engine" in window.run_bar.progress.format().lower()
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        pass
    assert finished.args[0].failed is None


def test_close_during_training_stops_cleanly(window, qtbot, layerlab_home) -> None:
    window.session.config.update(**{"training.epochs": 500})
    batches = []
    window.training.event.connect(lambda e: isinstance(e, (BatchEnd, EpochEnd)) and batches.append(e))
    window.training.start()
    qtbot.waitUntil(lambda: bool(batches), timeout=TRAIN_TIMEOUT_MS)
    window.close()  # the window stays alive while the run is saved, then closes
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    assert not window.training.busy
    runs = list((layerlab_home / "runs").iterdir())
    assert len(runs) == 1
    assert (runs[0] / "config.json").is_file() and (runs[0] / "history.json").is_file()


def test_staged_fine_tuning_marks_the_stage_on_the_plots(window, qtbot) -> None:
    window.session.config.update(
        **{"training.epochs": 1, "training.stage2_epochs": 1, "training.stage2_unfreeze_last": 1, "freeze_all_but": 1}
    )
    progress = []
    window.training.event.connect(
        lambda e: isinstance(e, BatchEnd) and progress.append(window.run_bar.progress.format())
    )
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.training.start()
    assert finished.args[0].failed is None
    for plot in (window.plots.loss, window.plots.accuracy):
        assert len(plot.stage_lines) == 1 and plot.stage_lines[0].value() == 1
        assert plot.stage_lines[0].label.toPlainText() == "fine-tuning"
    assert len(window.session.curves.epochs) == 2 and window.session.curves.stages == ((1, "fine-tuning"),)
    lr = 1e-3 * 0.1
    assert f"learning rate {lr:g}" in window.statusBar().currentMessage()
    assert "Finished" in window.run_bar.progress.format()
    assert any(f"lr {lr:g}" in text for text in progress)
    tips = window.training_panel
    assert "head" in tips.stage2_epochs.toolTip() or "head" in tips.stage2_epochs.parentWidget().toolTip()
    assert "last block" in tips.stage2_unfreeze.toolTip() and "lower" in tips.stage2_lr.toolTip()


def test_diverged_run_message_then_next_training_is_normal(window, qtbot) -> None:
    # A learning rate this high makes the loss overflow: the engine stops with a Failed event of
    # kind "nan", and the window says so plainly, once ("Training diverged: …", no doubled prefix).
    window.session.config.update(
        **{
            "training.learning_rate": 10.0,
            "training.optimizer": "sgd",
            "arch.activation": "elu",
            "arch.dropout": False,
            "training.epochs": 5,
        }
    )
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as diverged:
        window.training.start()
    assert diverged.args[0].failed_kind == "nan", diverged.args[0].failed
    text = window.message_bar.text
    assert window.message_bar.level == "error" and text.startswith("Training diverged:")
    assert text.lower().count("diverged") == 1 and "Training diverged" in window.run_bar.progress.format()
    window.session.config.update(**{"training.learning_rate": 1e-3, "training.optimizer": "adam", "training.epochs": 1})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.training.start()
    assert finished.args[0].failed is None and window.message_bar.level == "success"


def test_a_stopped_epoch_is_no_point_on_the_curves_nor_the_best(qtbot) -> None:
    from engine.config import ExperimentConfig
    from engine.core.records import EpochRecord
    from gui.controllers.curves import CurvesController
    from gui.controllers.training import epoch_summary
    from gui.panels.plots import PlotsPanel
    from gui.session import Session

    plots = PlotsPanel()
    qtbot.addWidget(plots)
    session = Session(ExperimentConfig())
    curves = CurvesController(session, plots)
    saved = [
        EpochRecord(epoch=0, loss=1.0, accuracy=0.6, val_loss=0.9, val_accuracy=0.7),
        EpochRecord(epoch=1, loss=0.8, accuracy=0.7, val_loss=0.7, val_accuracy=0.8),
        # written before stopped epochs carried no validation figures: one batch's "perfect" epoch
        EpochRecord(epoch=2, loss=0.7, accuracy=0.8, val_loss=3e-5, val_accuracy=1.0, partial=True),
    ]
    curves.add_history(saved)
    plots._redraw()
    assert session.curves.best == 1
    assert list(plots.accuracy.val_epoch.getData()[0]) == [1.0, 2.0]
    plots.accuracy.show_runs([("a", "#1f77b4", saved)])
    assert all(len(curve.getData()[0]) == 2 for curve in plots.accuracy.run_curves)
    stopped = EpochEnd(7, 50, 0.3, 0.9, float("nan"), float("nan"), 1.0, partial=True, batches=12, steps=40)
    assert "stopped after batch 12/40" in epoch_summary(stopped) and "no validation figures" in epoch_summary(stopped)
    assert "val" not in epoch_summary(stopped).replace("validation", "")


def test_closing_during_a_training_says_so_saves_the_run_and_closes_promptly(make_window, qtbot) -> None:
    import time

    window = make_window(**{"data.limit": 300, "training.epochs": 500, "training.batch_size": 16})
    wait_ready(qtbot, window)
    epochs: list[Any] = []
    window.training.event.connect(lambda e: isinstance(e, EpochEnd) and epochs.append(e))
    results: list[Any] = []
    window.training.finished.connect(results.append)
    window.training.start()
    qtbot.waitUntil(lambda: bool(epochs), timeout=TRAIN_TIMEOUT_MS)
    asked = time.monotonic()
    assert not window.close()  # not yet: the run is being saved, the window stays alive meanwhile
    assert window.isVisible() and "Closing" in window.message_bar.text and "saving the run" in window.message_bar.text
    assert window.session.training.status == "stopping"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    took = time.monotonic() - asked
    run = Path(results[0].run_dir)
    assert results[0].cancelled and (run / "model.keras").is_file() and (run / "metrics.json").is_file()
    assert took < 5.0, f"closing took {took:.1f} s"
