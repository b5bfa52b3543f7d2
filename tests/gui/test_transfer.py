"""Transfer-learning features of the window: augmentation preview, feature-cache badge, device and
GPU memory, staged fine-tuning marks, the block-grouped layer tree of a real backbone, and the
backbone weights choice (offline ImageNet → a clear message; "none" recovers)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.gui.conftest import TRAIN_TIMEOUT_MS, wait_table

BUILD_TIMEOUT_MS = 60_000


def _wait_preview(qtbot, window, **changes):
    with qtbot.waitSignal(window.preview_shown, timeout=BUILD_TIMEOUT_MS):
        if changes:
            window.session.config.update(**changes)


def _wait_table(qtbot, window):
    wait_table(qtbot, window, BUILD_TIMEOUT_MS)


def test_augmentation_preview_follows_settings_and_data(window, qtbot) -> None:
    panel = window.augmentation_panel
    qtbot.waitUntil(lambda: panel.state == "off", timeout=10_000)
    assert "All augmentation is off" in panel.caption.text() and panel.grid_widget.isHidden()
    assert "training images only" in panel.checks["rotation"].toolTip()
    assert "validation and test images" in panel.grid_widget.toolTip()

    received = []
    window.preview_shown.connect(lambda: received.append(panel.state))
    with qtbot.waitSignal(window.preview_shown, timeout=BUILD_TIMEOUT_MS):
        panel.checks["rotation"].setChecked(True)  # a burst of changes: one preview (debounced)
        panel.spins["zoom"].setValue(20)
        panel.checks["zoom"].setChecked(True)
    assert received == ["shown"]
    aug = window.session.config.config.augmentation
    assert abs(aug.rotation - 10 / 360) < 1e-4 and abs(aug.zoom - 0.2) < 1e-6
    originals, copies = panel.last_preview
    assert (
        copies.shape[:2] == (4, 4)
        and copies.shape[2:] == originals.shape[1:] == window.session.data.dataset.input_shape
    )
    assert not np.array_equal(copies[:, 0], originals)  # the copies really are transformed
    assert panel.tile_count() == 4 * 5 and not panel.grid_widget.isHidden()

    _wait_preview(qtbot, window, **{"data.limit": 200})  # another dataset: redrawn
    assert panel.state == "shown" and panel.last_preview[0].shape[1:] == window.session.data.dataset.input_shape
    before = panel.last_preview[1]
    with qtbot.waitSignal(window.preview_shown, timeout=BUILD_TIMEOUT_MS):
        panel.reseed.click()
    assert not np.array_equal(before, panel.last_preview[1])

    with qtbot.waitSignal(window.preview_shown, timeout=BUILD_TIMEOUT_MS):
        panel.checks["rotation"].setChecked(False)
        panel.checks["zoom"].setChecked(False)
    assert panel.state == "off" and not window.session.config.config.augmentation.enabled
    assert panel.spins["zoom"].value() == 20 and not panel.spins["zoom"].isEnabled()  # size kept for next time


def test_feature_cache_badge_and_device(window, qtbot) -> None:
    from gui.text import format_memory

    bar = window.run_bar
    window.session.config.update(**{"training.epochs": 1, "freeze_all_but": 1, "arch.dropout": False})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as finished:
        window.training.start()
    assert finished.args[0].feature_cache_used
    assert bar.cache.isVisibleTo(window) and bar.cache.text() == "▣ cached features"
    assert "cached features" in bar.cache.toolTip()
    assert bar.device_name == window.session.engine.device and bar.device_name in window.engine_status.device.text()

    _wait_table(qtbot, window)
    window.session.config.update(**{"augmentation.flip": "horizontal"})
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as second:
        window.training.start()
        qtbot.waitUntil(lambda: window.session.training.feature_cache is not None, timeout=TRAIN_TIMEOUT_MS)
        assert not bar.cache.isVisibleTo(window) or bar.cache.text() == "no feature cache"
    assert not second.args[0].feature_cache_used
    assert bar.cache.text() == "no feature cache" and "augmentation" in bar.cache.toolTip()
    assert "augmentation" in window.statusBar().currentMessage()

    with qtbot.waitSignal(window.gpu_memory_polled, timeout=30_000) as polled:
        window.engine.poll_gpu_memory()
    (megabytes,) = polled.args[0]
    if megabytes is None:  # CPU: no memory figure anywhere
        assert "iB" not in bar.device.text() and "memory" not in window.engine_status.device.text()
    else:
        assert format_memory(megabytes) in bar.device.text() and "GPU memory" in window.engine_status.device.text()


def test_backbone_layer_tree_is_grouped_by_block(window, qtbot) -> None:
    panel = window.model_panel
    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        window.session.config.update(
            **{"arch.name": "mobilenet_v2", "arch.weights": "none", "layer_trainable": {}, "freeze_all_but": None}
        )
    _wait_table(qtbot, window)
    assert panel.grouped and len(panel.rows) > 150
    blocks = panel.blocks()
    assert blocks[0] == "input" and blocks[-1] == "head" and "block_16" in blocks
    assert panel.table.model.rowCount() == len(blocks)
    # Weights "none" with the base frozen would train the head on random features: the base is unfrozen, said why.
    assert not window.session.config.config.arch.freeze_base and "random numbers" in window.message_bar.text
    assert panel.check_state("block_16", block=True) == Qt.CheckState.Checked
    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        panel.set_layer_checked("block_16", False, block=True)  # the user freezes one block by hand
    assert panel.check_state("block_16", block=True) == Qt.CheckState.Unchecked
    assert panel.check_state("head", block=True) == Qt.CheckState.Checked
    assert panel.table.is_expanded("head") and not panel.table.is_expanded("block_3")
    block16 = [r.name for r in panel.rows if r.block == "block_16" and r.has_weights]

    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        panel.set_layer_checked("block_16", True, block=True)  # the whole block trains
    assert {n: window.session.config.config.layer_trainable[n] for n in block16} == dict.fromkeys(block16, True)
    assert all(r.trainable for r in panel.rows if r.name in block16)
    assert panel.check_state("block_16", block=True) == Qt.CheckState.Checked

    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        panel.set_layer_checked(block16[0], False)  # one layer frozen again
    assert window.session.config.config.layer_trainable[block16[0]] is False
    assert panel.check_state("block_16", block=True) == Qt.CheckState.PartiallyChecked

    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        panel.freeze_through("block_14")
    by_block = {b: panel.check_state(b, block=True) for b in ("block_14", "block_15", "block_16", "out_relu", "head")}
    assert by_block == {
        "block_14": Qt.CheckState.Unchecked,
        "block_15": Qt.CheckState.Checked,
        "block_16": Qt.CheckState.Checked,
        "out_relu": Qt.CheckState.Checked,
        "head": Qt.CheckState.Checked,
    }
    trainable = sum(r.trainable_params for r in panel.rows)
    assert f"{trainable:,}" in panel.params.text()

    panel.table.filter.setText("block_3_")
    shown = panel.table.visible_blocks()
    assert shown == ["block_3"] and panel.table.is_expanded("block_3")
    panel.table.filter.clear()
    assert "block_3" in panel.table.visible_blocks() and not panel.table.is_expanded("block_3")


def test_backbone_weights_offline_message_then_none_recovers(window, qtbot, monkeypatch, tmp_path) -> None:
    from engine.architectures.weights import imagenet_file, keras_cache_dir

    panel = window.model_panel
    cached = keras_cache_dir() / imagenet_file("mobilenet_v2", 32).file_name
    if not cached.is_file():
        # Offline for sure (and fast): downloads go through a proxy nobody listens on.
        for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
            monkeypatch.setenv(name, "http://127.0.0.1:9")
        with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
            window.session.config.update(
                **{
                    "arch.name": "mobilenet_v2",
                    "arch.weights": "imagenet",
                    "layer_trainable": {},
                    "freeze_all_but": None,
                }
            )
        assert not window.inspect.busy
        bar = window.message_bar
        assert bar.level == "error" and cached.name in bar.text and str(cached.parent) in bar.text
        assert "weights: none" in bar.text
        assert cached.name in panel.status.text() and not panel.rows and panel.table.model.rowCount() == 0
        assert panel.weights.currentData() == "imagenet"

        combo = panel.weights
        with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
            combo.setCurrentIndex(combo.findData("none"))
            combo.activated.emit(combo.currentIndex())
        _wait_table(qtbot, window)
        assert window.session.config.config.arch.weights == "none"
        assert panel.grouped and panel.status.text() == "" and cached.name not in window.message_bar.text
        # what is said now: the random base is unfrozen (frozen, it would keep the model at chance)
        assert window.message_bar.level == "warning" and "random numbers" in window.message_bar.text

    missing = tmp_path / "my_weights.h5"  # a weights file (as the file dialog would choose)
    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        window.session.config.update(**{"arch.name": "mobilenet_v2", "arch.weights": str(missing)})
    assert panel.weights.currentText() == "file: my_weights.h5" and panel.weights.currentData() == str(missing)
    assert "does not exist" in window.message_bar.text and window.message_bar.level == "error"
    with qtbot.waitSignal(window.inspection_shown, timeout=BUILD_TIMEOUT_MS):
        window.session.config.update(**{"arch.weights": "none"})
    _wait_table(qtbot, window)
    assert window.message_bar.text == "" and panel.rows
