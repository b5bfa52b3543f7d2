"""Keeping what you train, in the window: pause and resume, resume a stopped run, continue and fork a run, export,
the learning-rate finder, schedules. Real tiny trainings on digits; waits on signals, never sleeps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.gui.conftest import TRAIN_TIMEOUT_MS


def _train(qtbot: Any, window: Any) -> Any:
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.run_bar.train.click()
    return finished.args[0]


def _history(run_dir: Any) -> list[int]:
    return [entry["epoch"] for entry in json.loads((Path(run_dir) / "history.json").read_text())]


def _pause_on_first(window: Any, kind: str) -> list[Any]:
    """Click Pause as soon as the first `kind` event (BatchEnd, EpochEnd) is shown; the events seen."""
    seen: list[Any] = []

    def on_event(event: Any) -> None:
        seen.append(event)
        if type(event).__name__ == kind and sum(type(e).__name__ == kind for e in seen) == 1:
            window.run_bar.pause.click()

    window.training.event.connect(on_event)
    return seen


def _select_run(qtbot: Any, window: Any, path: str) -> None:
    qtbot.waitUntil(
        lambda: path in [str(s.path) for s in window.runs_panel.summaries] and not window.runs._list.busy,
        timeout=30_000,
    )
    window.runs_panel.table.selectRow([str(s.path) for s in window.runs_panel.summaries].index(path))


def test_pause_holds_the_training_and_resume_finishes_it(window, qtbot) -> None:
    window.session.config.update(**{"training.epochs": 6, "training.batch_size": 16})
    seen = _pause_on_first(window, "BatchEnd")
    window.run_bar.train.click()
    qtbot.waitUntil(lambda: window.session.training.status == "paused", timeout=TRAIN_TIMEOUT_MS)
    bar = window.run_bar
    assert any(type(e).__name__ == "Paused" for e in seen)
    assert bar.pause.text().endswith("Resume") and bar.pause.isEnabled() and bar.stop.isEnabled()
    assert not bar.train.isEnabled() and bar.progress.format().startswith("Paused · epoch")
    assert window.training_panel.lr.isEnabled() is False  # the settings stay locked while paused
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        bar.pause.click()
    result = finished.args[0]
    assert result.failed is None and not result.cancelled
    assert any(type(e).__name__ == "Continued" for e in seen)
    assert (
        _history(result.run_dir) == list(range(6)) and bar.pause.text().endswith("Pause") and not bar.pause.isEnabled()
    )


def test_stop_while_paused_then_resume_from_the_runs_tab_continues_the_curves(window, qtbot) -> None:
    window.session.config.update(**{"training.epochs": 8})
    _pause_on_first(window, "EpochEnd")
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as stopped:
        window.run_bar.train.click()
        qtbot.waitUntil(lambda: window.session.training.status == "paused", timeout=TRAIN_TIMEOUT_MS)
        window.run_bar.stop.click()  # Stop works while paused
    first = stopped.args[0]
    assert first.cancelled and first.failed is None
    saved = json.loads((Path(first.run_dir) / "history.json").read_text())
    done = [entry["epoch"] for entry in saved if not entry.get("partial")]  # the stopped epoch is kept as partial
    assert done and done == list(range(len(done))) and len(done) < 8
    _select_run(qtbot, window, str(first.run_dir))
    resumed: list[Any] = []
    window.training.event.connect(lambda e: type(e).__name__ == "Resumed" and resumed.append(e))
    assert window.runs_panel.resume_button.isEnabled()
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.runs_panel.resume_button.click()
    result = finished.args[0]
    assert result.failed is None and Path(result.run_dir) == Path(first.run_dir)
    assert resumed and resumed[0].from_epoch == len(done)  # from the last complete epoch
    assert _history(result.run_dir) == list(range(8))  # no gap, no duplicate
    assert [e.epoch for e in window.session.curves.epochs] == list(range(8))  # earlier epochs, then the new ones
    assert "Resuming run" in window.plots.title.full_text() and "Epoch 8/8" in window.plots.summary.full_text()


def test_continue_a_finished_run_then_fork_it_shows_the_parent(window, qtbot) -> None:
    run = _train(qtbot, window)
    path = str(run.run_dir)
    _select_run(qtbot, window, path)
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as continued:
        window.runs_panel.keep_requested.emit(path, "continue", 1, 1)
    assert continued.args[0].failed is None and Path(continued.args[0].run_dir) == Path(path)
    assert _history(path) == [0, 1, 2]
    window.session.config.update(**{"training.epochs": 4, "training.learning_rate": 0.0005})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as forked:
        window.runs_panel.keep_requested.emit(path, "fork", 2, 1)  # after epoch 3, one more: 4 in all
    fork = forked.args[0]
    assert fork.failed is None and Path(fork.run_dir) != Path(path)
    config = json.loads((Path(fork.run_dir) / "config.json").read_text())
    assert config["parent"] == {"run": path, "epoch": 2} and config["training"]["learning_rate"] == 0.0005
    assert _history(fork.run_dir) == [0, 1, 2, 3]
    qtbot.waitUntil(lambda: any(str(s.path) == str(fork.run_dir) for s in window.runs_panel.summaries), timeout=30_000)
    row = [str(s.path) for s in window.runs_panel.summaries].index(str(fork.run_dir))
    model = window.runs_panel.model
    cell = model.data(model.index(row, 3))
    assert cell.startswith("⑂") and "ep 3" in cell
    assert f"Forked from {path} at epoch 3" in model.data(model.index(row, 0), 3)  # the tooltip


def test_export_from_the_window_reports_agreement(window, qtbot, trained_run) -> None:
    with qtbot.waitSignal(window.run_opened, timeout=60_000):
        window.runs.open_run(str(trained_run))
    window.show_export()
    dialog = window.export_dialog
    assert dialog.run.currentData() == str(trained_run) and not dialog.quantize.isEnabled()
    with qtbot.waitSignal(window.export.exported, timeout=120_000) as exported:
        dialog.export_button.click()
    report = exported.args[0]
    assert report.format == "keras" and report.agreement >= 0.99 and Path(report.path).exists()
    assert "Agreement with the Keras model: 100.0%" in dialog.result.text() or "Agreement" in dialog.result.text()
    dialog.format.setCurrentIndex(dialog.format.findData("tflite"))
    assert dialog.quantize.isEnabled() and "export-tflite" in dialog.out.text()
    dialog.out.setText(str(Path(report.path).parent))  # not empty: refused, clearly
    with qtbot.waitSignal(window.export.exported, timeout=60_000) as refused:
        dialog.export_button.click()
    assert "already exists" in str(refused.args[0]) and dialog.result.text().startswith("✗ Export failed")
    assert window.session.message.level == "error"
    dialog.close()
    window.runs.select([str(Path(report.path).parent.parent / "elsewhere")])  # a run selected in the Runs tab
    window.show_export()  # offered first, in the format used last time
    again = window.export_dialog
    assert again.run.currentData() == str(Path(report.path).parent.parent / "elsewhere")
    assert again.format.currentData() == "tflite"


def test_lr_finder_draws_its_curve_and_one_click_sets_the_rate(window, qtbot) -> None:
    panel = window.lr_panel
    window.lr_finder.steps = 40
    with qtbot.waitSignal(window.lr_finder.found, timeout=TRAIN_TIMEOUT_MS) as found:
        panel.find.click()
    sweep = found.args[0]
    assert sweep is not None and len(panel.lrs) >= 5 and panel.marker.isVisible()
    assert panel.plot.getPlotItem().getAxis("bottom").logMode and panel.use.isEnabled()
    assert window.session.training.status == "finished" and "LR finder" in window.session.training.text
    panel.use.click()
    rate = float(f"{sweep.suggested_lr:.2g}")
    assert window.session.config.config.training.learning_rate == rate
    assert abs(window.training_panel.lr.value() - rate) < 1e-12


def test_lr_finder_is_not_started_for_an_autoencoder_the_engine_does_not_sweep(window, qtbot) -> None:
    window.session.config.update(**{"task": "autoencoder", "arch.name": "conv_autoencoder"})
    window.lr_panel.find.click()
    assert "sweeps classifiers" in window.session.message.text
    qtbot.waitUntil(lambda: window.tasks.idle, timeout=TRAIN_TIMEOUT_MS)  # the model inspection of the new preset
    assert "LR finder" not in window.session.training.text and not window.lr_panel.lrs


def _choose(combo: Any, value: str) -> None:
    """What a user's pick does (the binder listens to `activated`, not to programmatic changes)."""
    combo.setCurrentIndex(combo.findData(value))
    combo.activated.emit(combo.currentIndex())


def test_schedule_controls_edit_the_config_and_the_rate_is_drawn(window, qtbot) -> None:
    panel = window.training_panel
    _choose(panel.schedule, "step")
    assert window.session.config.config.training.schedule == "step" and panel.step_every.isEnabled()
    panel.step_every.setValue(1)
    panel.step_factor.setValue(0.5)
    panel.warmup.setValue(1)
    panel.deterministic.click()
    training = window.session.config.config.training
    assert (training.step_every, training.step_factor, training.warmup_epochs, training.deterministic) == (
        1,
        0.5,
        1,
        True,
    )
    assert "docs/benchmarks.md" in panel.deterministic.toolTip()
    _choose(panel.schedule, "cosine")
    assert not panel.step_every.isEnabled()
    window.session.config.update(**{"training.epochs": 3, "training.warmup_epochs": 0})
    result = _train(qtbot, window)
    assert result.failed is None
    rates = window.plots.series["rate"].y
    assert len(rates) == 3 and rates[0] > rates[1] > rates[2]  # cosine: falling every epoch
    qtbot.waitUntil(lambda: window.plots.rate.widget.isVisible(), timeout=5_000)


def test_keep_controller_offers_the_kept_checkpoints(qtbot, trained_run) -> None:
    from gui.app import create_application
    from gui.controllers.keep import KeepController, KeepView
    from gui.session import Session
    from gui.tasks import TaskRunner
    from tests.gui.fakes import FakeView

    create_application([])
    runner = TaskRunner()
    try:
        view, session = FakeView(KeepView), Session()
        keep = KeepController(session, runner, training=None, view=view)  # listing needs no training controller
        keep.keep_wanted(str(trained_run))
        qtbot.waitUntil(lambda: bool(view.named("choose_keep")), timeout=30_000)
        offer, _epochs = view.named("choose_keep")[0]
        assert offer.run_dir == str(trained_run) and [c.epoch for c in offer.checkpoints] == [0]
        assert (offer.done, offer.planned) == (1, 1)
        keep.keep_wanted(str(trained_run.parent))  # not a run: said in the banner
        qtbot.waitUntil(lambda: bool(session.message.text), timeout=30_000)
        assert len(view.named("choose_keep")) == 1
    finally:
        runner.shutdown(wait_lanes=(), timeout=10)


def test_the_continue_or_fork_dialog_names_epochs_as_the_curves_and_refuses_before_it_closes(
    window, qtbot, trained_run, tmp_path
) -> None:
    """One dialog for both; a choice that cannot run is refused in it, which stays open, and nothing
    else changes."""
    import shutil

    run = tmp_path / "20260101-000000-digits-mlp"
    shutil.copytree(trained_run, run)
    window.runs.root = tmp_path
    window.runs.refresh()
    _select_run(qtbot, window, str(run))
    panel = window.runs_panel
    assert not panel.resume_button.isEnabled()  # it finished: Resume is only for runs that stopped early
    panel.keep_button.click()
    qtbot.waitUntil(lambda: panel.keep_dialog is not None, timeout=30_000)
    dialog = panel.keep_dialog
    assert dialog.checkpoint.itemText(0) == "after epoch 1 (latest, best: lowest validation loss)"
    dialog.extra.setValue(4)
    assert dialog.plan.text().startswith("Trains epochs 2–5 (5 in all), in this run's folder")
    dialog.fork_choice.setChecked(True)
    assert dialog.checkpoint.isEnabled() and "as a new run" in dialog.plan.text()

    shutil.rmtree(run / "checkpoints")  # the checkpoint is gone by the time Start is pressed
    curves, model = window.session.curves, window.session.classifier
    dialog.start_button.click()
    assert dialog.isVisible() and dialog.problem.isVisibleTo(dialog) and "no checkpoint" in dialog.problem.text()
    assert not window.training.busy and window.session.curves is curves and window.session.classifier is model
    dialog.reject()


def test_a_fork_that_fails_before_training_leaves_the_curves_and_the_model(
    window, qtbot, trained_run, tmp_path
) -> None:
    """The run's data is gone: the fork fails as it loads it, before the engine starts training."""
    import json
    import shutil

    from tests.gui.conftest import TRAIN_TIMEOUT_MS

    run = tmp_path / "20260101-000000-npz-mlp"
    shutil.copytree(trained_run, run)
    config = json.loads((run / "config.json").read_text())
    config["data"]["name"] = f"npz:{tmp_path / 'gone.npz'}"
    (run / "config.json").write_text(json.dumps(config))
    first = _train(qtbot, window)  # curves, results and a model to keep
    qtbot.waitUntil(lambda: window.session.classifier.classifier is not None, timeout=30_000)
    curves, results, model = window.session.curves, window.session.results, window.session.classifier
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as failed:
        window.runs_panel.keep_requested.emit(str(run), "fork", 0, 2)
    assert failed.args[0].failed and window.session.training.status == "failed"
    assert window.message_bar.level == "error"
    assert window.session.curves is curves and window.session.results is results
    assert window.session.classifier is model and Path(first.run_dir).name in window.plots.title.full_text()
