"""Class folders in the window: streamed, decoded with progress, cached on disk; the caches dialog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.gui.conftest import TRAIN_TIMEOUT_MS, wait_table


def _photo_folder(root: Path, per_class: int = 30) -> Path:
    rng = np.random.default_rng(0)
    for label, base in (("cats", 60), ("dogs", 190)):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(base, 25, (40 + i % 7, 56, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{label}_{i}.jpg", quality=90)
    return root


def test_a_class_folder_streams_shows_decoding_and_is_cached_for_the_next_run(window, qtbot, tmp_path) -> None:
    folder = _photo_folder(tmp_path / "pets")
    window.session.config.update(
        **{
            "data.name": f"folder:{folder}",
            "data.image_size": 16,
            "data.limit": None,
            "arch.name": "naive_cnn",
            "training.epochs": 2,
        }
    )
    wait_table(qtbot, window)
    dataset = window.session.data.dataset
    assert dataset.streams and dataset.counts()["train"] + dataset.counts()["validation"] == 60
    texts: list[str] = []
    window.session.events.training.connect(lambda state: texts.append(state.text))
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS) as first:
        window.training.start()
    assert first.args[0].failed is None
    assert any(text.startswith("Decoding the images") for text in texts), texts[:20]
    metrics = first.args[0].metrics
    assert all(entry.source and entry.source.endswith(".jpg") for entry in metrics.misclassified)
    texts.clear()
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        window.training.start()
    assert not any("Decoding the images" in text and "cache" not in text for text in texts)  # read back from the cache


def test_the_caches_dialog_shows_usage_clears_and_sets_the_budget(window, qtbot, tmp_path) -> None:
    from gui.session import memory_budget

    window.show_caches()
    dialog = window._caches_dialog
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=10_000)
    assert {dialog.table.item(r, 0).text() for r in range(2)} == {"decoded images", "frozen-layer features"}
    dialog.clear_button.click()
    qtbot.waitUntil(lambda: "Cleared" in dialog.status.text(), timeout=10_000)
    dialog.budget.setValue(1024)
    assert window.session.preferences.value.memory_budget_mb == 1024
    assert memory_budget(window.session.preferences.value).bytes == 1024 * 2**20
