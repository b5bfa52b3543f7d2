"""Choosing data and architecture redraws the layer table; freezing edits the config and counts."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.conftest import wait_table


def test_architecture_choice_updates_layer_table(window, qtbot) -> None:
    names = [r.name for r in window.model_panel.rows]
    assert "dense_1" in names and names[-1] == "predictions"
    assert window.model_panel.kind_of(names[0]) == "Input"
    assert not window.model_panel.grouped  # presets built from scratch have no blocks: a flat list
    combo = window.model_panel.preset
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        combo.setCurrentIndex(combo.findData("naive_cnn"))
        combo.activated.emit(combo.currentIndex())
    assert window.session.config.config.arch.name == "naive_cnn"
    kinds = [r.kind for r in window.model_panel.rows]
    assert "Conv2D" in kinds and "Dense" in kinds
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        window.model_panel.batchnorm.setChecked(True)
    assert window.session.config.config.arch.batchnorm
    assert "BatchNormalization" in [r.kind for r in window.model_panel.rows]


def test_dataset_choice_updates_shapes(window, qtbot) -> None:
    first_shape = window.model_panel.rows[0].output_shape
    assert first_shape == "8×8×1"
    counts = window.session.data.dataset.counts()
    assert counts["train"] == 300
    assert window.data_panel.thumb_grid.count() >= 10
    with qtbot.waitSignal(window.dataset_loaded, timeout=60_000):
        window.session.config.update(**{"data.limit": 100})
    assert window.session.data.dataset.counts()["train"] == 100


def test_untick_layer_changes_config_and_param_counts(window, qtbot) -> None:
    panel = window.model_panel
    dense = next(r for r in panel.rows if r.name == "dense_1")
    before = panel.params.text()
    assert panel.check_state("dense_1") == Qt.CheckState.Checked
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        panel.set_layer_checked("dense_1", False)
    assert window.session.config.config.layer_trainable == {"dense_1": False}
    after = {r.name: r for r in panel.rows}
    assert not after["dense_1"].trainable and after["dense_1"].trainable_params == 0
    total = sum(r.params for r in panel.rows)
    trainable = sum(r.trainable_params for r in panel.rows)
    assert trainable == total - dense.params
    assert f"{trainable:,}" in panel.params.text() and panel.params.text() != before
    assert panel.check_state("dense_1") == Qt.CheckState.Unchecked


def test_freeze_all_but_last(window, qtbot) -> None:
    panel = window.model_panel
    panel.freeze_spin.setValue(1)
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        panel.freeze_check.setChecked(True)
    assert window.session.config.config.freeze_all_but == 1
    trainable = [r.name for r in panel.rows if r.has_weights and r.trainable]
    assert trainable == ["predictions"]
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        panel.reset.click()
    assert window.session.config.config.freeze_all_but is None and not window.session.config.config.layer_trainable
    assert all(r.trainable for r in panel.rows if r.has_weights)


def test_stale_overrides_are_dropped_when_layers_change(window, qtbot) -> None:
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        window.session.config.update(layer_trainable={"dense_2": False})
    with qtbot.waitSignal(window.inspection_shown, timeout=60_000):
        window.session.config.update(**{"arch.name": "naive_cnn"})
    qtbot.waitUntil(lambda: window.session.config.config.layer_trainable == {}, timeout=10_000)


def test_class_folder_with_a_broken_file_reports_it(window, qtbot, tmp_path) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, value in (("cats", 40), ("dogs", 210)):
        folder = tmp_path / "pets" / label
        folder.mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(value, 20, (16, 16, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{label}_{i}.png")
    (tmp_path / "pets" / "dogs" / "broken.png").write_bytes(b"not really a png")
    with qtbot.waitSignal(window.dataset_loaded, timeout=60_000):
        window.session.config.update(
            **{"data.name": f"folder:{tmp_path / 'pets'}", "data.image_size": 16, "data.limit": None}
        )
    assert window.session.data.dataset is not None, window.message_bar.text
    assert window.session.data.dataset.class_names == ["cats", "dogs"]
    panel = window.data_panel
    assert panel.skipped.isVisibleTo(window) and "1 file" in panel.skipped.text()
    assert "broken.png" in panel.skipped.toolTip()
    assert "2 classes" in panel.summary.text()
    assert "folder: pets" in panel.combo.currentText()
    wait_table(qtbot, window)
    assert window.model_panel.rows[0].output_shape == "16×16×3"
