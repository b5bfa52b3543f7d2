"""Drops, pastes and opened runs: top-k results, clear messages for bad files, no blocking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _open(window, qtbot, run_dir: Path) -> None:
    with qtbot.waitSignal(window.classifier_ready, timeout=60_000):
        window.runs.open_run(str(run_dir))


def test_opened_run_shows_curves_and_classifies_a_dropped_png(window, qtbot, trained_run, digit_png) -> None:
    _open(window, qtbot, trained_run)
    assert len(window.session.curves.epochs) == 1
    assert window.errors_panel.metrics.val_count
    assert "Model: run" in window.classify_panel.model_label.text()
    mime = _mime(digit_png)
    event = QDropEvent(
        QPoint(50, 50).toPointF(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.classified, timeout=30_000) as done:
        window.dropEvent(event)  # the real drop handler, with a real QDropEvent
    card = window.classify_panel.cards[done.args[0]]
    prediction = card.prediction
    assert prediction is not None and not card.error
    assert len(prediction.top) == 3
    assert 0.0 < sum(p for _, p in prediction.top) <= 1.0 + 1e-6
    assert prediction.top[0][1] >= prediction.top[1][1] >= prediction.top[2][1]
    assert prediction.input.dtype == np.float32 and prediction.input.shape == (8, 8, 1)
    assert card.bars.top == prediction.top and card.input.pixmap() is not None
    assert window.results.currentWidget() is window.classify_panel


def test_corrupt_and_non_image_files_give_messages(window, qtbot, trained_run, digit_png, tmp_path) -> None:
    _open(window, qtbot, trained_run)
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    tickets = []
    window.classified.connect(tickets.append)
    window.handle_drop(_mime(corrupt, text, digit_png))
    qtbot.waitUntil(lambda: len(tickets) == 3, timeout=30_000)
    cards = [window.classify_panel.cards[t] for t in sorted(tickets)]
    assert cards[0].error and cards[1].error and cards[0].prediction is None
    assert "⚠" in cards[0].status.text()
    assert cards[2].prediction is not None  # the good file after the bad ones still works


def test_dropped_folder_expands_to_its_images(window, qtbot, trained_run, digit_png, tmp_path) -> None:
    _open(window, qtbot, trained_run)
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(3):
        (folder / f"d{i}.png").write_bytes(digit_png.read_bytes())
    tickets = []
    window.classified.connect(tickets.append)
    window.handle_drop(_mime(folder))
    qtbot.waitUntil(lambda: len(tickets) == 3, timeout=30_000)
    assert all(window.classify_panel.cards[t].prediction is not None for t in tickets)


def test_paste_image_from_clipboard(window, qtbot, trained_run, digit_png) -> None:
    _open(window, qtbot, trained_run)
    QApplication.clipboard().setImage(QImage(str(digit_png)))
    with qtbot.waitSignal(window.classified, timeout=30_000) as done:
        window.paste()
    assert window.classify_panel.cards[done.args[0]].prediction is not None


def test_drop_without_a_model_waits_visibly(window, qtbot, digit_png) -> None:
    window.handle_drop(_mime(digit_png))
    qtbot.waitUntil(lambda: bool(window.classify_panel.cards), timeout=10_000)  # folders expand in the background
    card = next(iter(window.classify_panel.cards.values()))
    assert card.prediction is None and "train or open a run first" in card.status.text()
    window.session.config.update(**{"training.epochs": 1})
    with qtbot.waitSignal(window.classified, timeout=120_000):
        window.training.start()  # once a model exists, the waiting image is classified
    assert card.prediction is not None


def test_run_without_model_opens_with_a_message(window, qtbot, trained_run, tmp_path) -> None:
    import shutil

    copy = tmp_path / "run_copy"
    shutil.copytree(trained_run, copy)
    (copy / "model.keras").unlink()
    with qtbot.waitSignal(window.run_opened, timeout=30_000):
        window.runs.open_run(str(copy))
    assert window.session.classifier.classifier is None
    assert "without a model" in window.message_bar.text


def test_use_settings_of_a_past_run(window, qtbot, trained_run) -> None:
    window.runs.root = trained_run.parent
    window.runs.refresh()
    qtbot.waitUntil(lambda: window.runs_panel.model.rowCount() == 1, timeout=10_000)
    window.runs_panel.table.selectRow(0)
    changed = []
    window.session.config.changed.connect(changed.append)
    window.runs_panel.settings_button.click()
    qtbot.waitUntil(lambda: bool(changed), timeout=10_000)
    config = window.session.config.config
    assert (config.training.epochs, config.data.limit) == (1, 200)
    assert window.training_panel.epochs.value() == 1


def test_another_model_reclassifies_the_cards_and_a_run_that_fails_to_open_changes_nothing(
    window, qtbot, trained_run, digit_png, tmp_path
) -> None:
    """Cards never show one model's answers under another's name, and the results name their run.
    Opening a run that cannot be read leaves the model, its answers, the curves and the results."""
    import shutil

    other = tmp_path / "20260101-000000-digits-mlp-copy"
    shutil.copytree(trained_run, other)
    _open(window, qtbot, trained_run)
    with qtbot.waitSignal(window.classified, timeout=30_000) as done:
        window.handle_drop(_mime(digit_png))
    ticket = done.args[0]
    card = window.classify_panel.cards[ticket]
    assert window.session.classify.card(ticket).model == f"run {trained_run.name}"
    assert card.model.full_text() == f"answered by run {trained_run.name}"
    assert trained_run.name in window.errors_panel.source.full_text()

    with qtbot.waitSignal(window.classified, timeout=60_000):  # the card again, with the new model
        window.runs.open_run(str(other))
    assert window.session.classify.card(ticket).model == f"run {other.name}"
    assert card.model.full_text() == f"answered by run {other.name}" and card.prediction is not None
    assert other.name in window.errors_panel.source.full_text() and other.name in window.plots.title.full_text()

    broken = tmp_path / "broken-run"
    shutil.copytree(trained_run, broken)
    (broken / "config.json").write_text("{ not json")
    curves, results, model = window.session.curves, window.session.results, window.session.classifier
    window.runs.open_run(str(broken))
    qtbot.waitUntil(lambda: "Cannot open run" in window.message_bar.text, timeout=30_000)
    assert window.session.classifier is model and window.session.results is results
    assert window.session.curves is curves and other.name in window.plots.title.full_text()
    assert window.session.classify.card(ticket).model == f"run {other.name}"
