"""Insight in the window: whether to trust an answer, where the network looked, what its layers see,
per-class metrics, the map of the validation set and the label-issue gallery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def _open(window, qtbot, run: Path) -> None:
    with qtbot.waitSignal(window.classifier_ready, timeout=60_000):
        window.runs.open_run(str(run))


def _classify(window, qtbot, *paths: Path) -> list:
    tickets: list[int] = []
    window.classified.connect(tickets.append)
    window.handle_drop(_mime(*paths))
    qtbot.waitUntil(lambda: len(tickets) == len(paths), timeout=30_000)
    return [window.classify_panel.cards[t] for t in sorted(tickets)]


def test_unfamiliar_images_and_low_confidence_are_said(window, qtbot, trained_run, digit_png, tmp_path) -> None:
    _open(window, qtbot, trained_run)
    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(noise)
    digit, static = _classify(window, qtbot, digit_png, noise)
    assert static.prediction.familiar is False and static.trust.isVisibleTo(window.classify_panel)
    assert "unlike the training images" in static.trust.text()
    label, p = static.prediction.top[0]  # the class and its probability stay the headline
    assert static.verdict.text() == f"<b>{label}</b> · {p:.1%}" and "unfamiliar" not in static.verdict.text()
    assert "the image as given" in static.trust.toolTip() and "over the line" in static.trust.toolTip()
    assert digit.prediction.familiar in (True, False)  # the run has an OOD model
    window.classify_panel.threshold.setValue(99)  # "sure ≥ 99 %"
    assert window.session.preferences.value.threshold == 0.99
    (again,) = _classify(window, qtbot, digit_png)
    if again.prediction.top[0][1] < 0.99 and again.prediction.familiar:
        assert "not sure" in again.verdict.text()


def test_explain_toggle_draws_where_the_network_looked_and_layers_open(window, qtbot, trained_run, digit_png) -> None:
    _open(window, qtbot, trained_run)
    (card,) = _classify(window, qtbot, digit_png)
    assert not card.overlay_shown
    window.classify_panel.explain.setChecked(True)  # applies to cards already there
    qtbot.waitUntil(lambda: card.overlay_shown, timeout=30_000)
    assert "saliency" in card.original.toolTip()  # an MLP: the gradient of the class score
    assert "outlined" in card.original.toolTip()
    panel = window.classify_panel
    assert panel.key_row.isVisibleTo(panel) and not panel.key.pixmap().isNull()  # the colour key
    before = card.original.pixmap().toImage()
    panel.opacity.setValue(100)  # the overlay is blended again at once, no new explanation
    assert window.session.preferences.value.explain_opacity == 1.0
    assert card.original.pixmap().toImage() != before
    window.classify_panel.explain.setChecked(False)
    assert not card.overlay_shown and card.original.toolTip() == "The image as given"
    assert not panel.key_row.isVisibleTo(panel)
    card.layers.click()
    qtbot.waitUntil(lambda: getattr(window.classify_panel, "_layers_dialog", None) is not None, timeout=30_000)
    dialog = window.classify_panel._layers_dialog
    qtbot.addWidget(dialog)
    assert "Layers — one.png" == dialog.windowTitle()


def test_the_map_places_validation_images_and_dropped_ones(window, qtbot, digit_png) -> None:
    from tests.gui.conftest import TRAIN_TIMEOUT_MS

    window.map.draw("pca")  # no model yet: says what it needs
    assert "needs a model" in window.map_panel.status.text()
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        window.training.start()
    qtbot.waitUntil(lambda: window.session.classifier.classifier is not None, timeout=30_000)
    drawn: list = []
    window.map.drawn.connect(drawn.append)
    window.map_panel.draw_button.click()
    qtbot.waitUntil(lambda: bool(drawn), timeout=60_000)
    embedding = drawn[0]
    count = window.session.results.dataset.counts()["validation"]
    assert embedding.points.shape == (count, 2) and len(window.map_panel.points.data) == count
    assert "misclassified" in window.map_panel.status.text() and "■" in window.map_panel.legend.text()
    window.map_panel.point_hovered.emit(0)
    rows = window.session.results.dataset.rows("validation")  # the digits' own row, not a position in the split
    index = int(embedding.indices[0])
    assert window.map_panel.caption.text().startswith(f"x[{rows.at(index)[1]}]: ")
    assert window.map_panel.preview.pixmap() is not None
    window.map_panel.point_clicked.emit(0)
    qtbot.waitUntil(lambda: getattr(window.map_panel, "_dialog", None) is not None, timeout=30_000)
    qtbot.addWidget(window.map_panel._dialog)
    assert window.map_panel._dialog.windowTitle() == f"x[{rows.at(index)[1]}]"
    texts = [label.text() for label in window.map_panel._dialog.findChildren(type(window.map_panel.caption))]
    assert any("True class" in text and "predicted" in text for text in texts)
    _classify(window, qtbot, digit_png)
    qtbot.waitUntil(lambda: window.map_panel.star_count() == 1, timeout=30_000)


def test_label_issues_are_found_decided_and_honoured(window, qtbot, tmp_path) -> None:
    from sklearn.datasets import load_digits

    from tests.gui.conftest import TRAIN_TIMEOUT_MS, wait_table

    digits = load_digits()
    x, y = (digits.images * 16).clip(0, 255).astype(np.uint8)[:400], digits.target[:400].copy()
    flipped = np.arange(0, 400, 20)  # 20 labels planted wrong
    y[flipped] = (y[flipped] + 3) % 10
    data = tmp_path / "flipped.npz"
    np.savez(data, x=x, y=y)
    window.session.config.update(**{"data.name": f"npz:{data}", "data.limit": None, "training.epochs": 8})
    wait_table(qtbot, window)
    found: list = []
    window.labels.found.connect(found.append)
    window.labels_panel.folds.setValue(3)
    window.labels_panel.find_button.click()
    assert window.session.training.running and not window.labels_panel.find_button.isEnabled()
    qtbot.waitUntil(lambda: bool(found), timeout=TRAIN_TIMEOUT_MS * 2)
    issues = found[0]
    assert issues and window.labels_panel.model.rowCount() == len(issues)
    assert window.session.training.status == "finished" and "Label check" in window.run_bar.progress.format()
    assert len({(i.split, i.index) for i in issues[:40]}) == len(issues[:40])
    window.labels_panel.gallery.setCurrentIndex(window.labels_panel.model.index(0))
    assert window.labels_panel.relabel.text() == f"Relabel as {issues[0].suggested}"
    window.labels_panel.exclude.click()
    qtbot.waitUntil(lambda: "1 excluded" in window.labels_panel.decisions.text(), timeout=10_000)
    sidecar = Path(f"{data}.layerlab-labels.json")
    assert sidecar.is_file() and "exclude" in sidecar.read_text()
    assert "✕ excluded" in window.labels_panel.model.data(window.labels_panel.model.index(0))
    notes: list[str] = []
    window.training.event.connect(lambda e: type(e).__name__ == "Started" and notes.append(e.note))
    window.session.config.update(**{"training.epochs": 1})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        window.training.start()
    assert notes and "1" in notes[0] and "exclu" in notes[0], notes


def test_errors_gallery_can_show_where_the_model_looked(window, qtbot) -> None:
    from tests.gui.conftest import TRAIN_TIMEOUT_MS

    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        window.training.start()
    qtbot.waitUntil(lambda: window.session.classifier.classifier is not None, timeout=30_000)
    window.results.setCurrentWidget(window.errors_panel)
    model = window.errors_panel.gallery_model
    if not model.rowCount():
        return  # a perfect model: nothing to explain
    first = model.entries[0].index
    qtbot.waitUntil(lambda: model.has_picture(first), timeout=30_000)
    plain = model.data(model.index(0), 1).toImage()
    window.errors_panel.explain.setChecked(True)
    assert window.session.preferences.value.explain and window.classify_panel.explain.isChecked()
    qtbot.waitUntil(lambda: model.has_picture(first), timeout=30_000)
    explained = model.data(model.index(0), 1).toImage()
    assert explained.width() == plain.width() and explained != plain and not explained.isGrayscale()
