"""The Errors tab on its own: confusion matrix cells and filtering the gallery by clicking a cell."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt


def _metrics(**changes: Any) -> Any:
    from engine.core.records import Misclassified, RunMetrics

    matrix = [[5, 2, 0], [1, 7, 3], [0, 0, 9]]
    names = ["cat", "dog", "bird"]
    wrong = [
        Misclassified(index=i, source=None, true=names[t], predicted=names[p], confidence=0.6)
        for i, (t, p) in enumerate([(0, 1), (0, 1), (1, 0), (1, 2), (1, 2), (1, 2)])
    ]
    values = dict(
        val_accuracy=21 / 27,
        val_loss=0.5,
        train_accuracy=0.9,
        train_loss=0.3,
        val_count=27,
        misclassified=wrong,
        misclassified_count=len(wrong),
        confusion_matrix=matrix,
    )
    return RunMetrics(**{**values, **changes})


def _panel(qtbot: Any) -> Any:
    from gui.app import create_application
    from gui.panels.errors import ErrorsPanel

    create_application([])
    panel = ErrorsPanel()
    qtbot.addWidget(panel)
    panel.resize(340, 900)
    panel.show()
    return panel


def test_confusion_matrix_cells_and_click_filters_gallery(qtbot) -> None:
    panel = _panel(qtbot)
    image = np.zeros((8, 8), dtype=np.uint8)
    panel.thumbnails_wanted.connect(lambda entries: [panel.set_thumbnail(e.index, image) for e in entries])
    panel.show_metrics(_metrics(), ["cat", "dog", "bird"])
    view = panel.confusion
    assert panel.confusion_box.isVisible()
    assert [[view.count(r, c) for c in range(3)] for r in range(3)] == [[5, 2, 0], [1, 7, 3], [0, 0, 9]]
    assert view.tooltip_for(1, 2).startswith("true dog → predicted bird: 3")
    assert panel.count.text() == "6 errors / 27" and panel.gallery_model.rowCount() == 6
    assert view.width() <= 340 and view.cell_rect(2, 2).right() <= view.width()

    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 2).center().toPoint())
    assert panel.filter == ("dog", "bird") and panel.gallery_model.rowCount() == 3
    assert panel.count.text() == "3 of 6 errors" and panel.show_all.isVisible()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(0, 1).center().toPoint())
    assert panel.filter == ("cat", "dog") and panel.gallery_model.rowCount() == 2
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(0, 1).center().toPoint())  # again: clear
    assert panel.filter is None and panel.gallery_model.rowCount() == 6 and not panel.show_all.isVisible()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 1).center().toPoint())  # diagonal
    assert panel.filter is None
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 0).center().toPoint())
    assert panel.gallery_model.rowCount() == 1
    panel.show_all.linkActivated.emit("#all")
    assert panel.filter is None and panel.gallery_model.rowCount() == 6

    qtbot.waitUntil(lambda: all(panel.gallery_model.has_picture(e.index) for e in panel.shown_errors()), timeout=5000)
    older = _metrics(confusion_matrix=[])  # runs saved before the matrix existed: no matrix, gallery still works
    panel.show_metrics(older)
    assert not panel.confusion_box.isVisible() and panel.gallery_model.rowCount() == 6


def test_many_classes_are_a_heat_map_that_fits(qtbot) -> None:
    from engine.core.records import RunMetrics

    panel = _panel(qtbot)
    n = 40
    matrix = (np.eye(n, dtype=int) * 20 + 1).tolist()
    panel.show_metrics(
        RunMetrics(val_count=n * n + 19 * n, misclassified=[], misclassified_count=n * n - n, confusion_matrix=matrix),
        [f"class number {i}" for i in range(n)],
    )
    view = panel.confusion
    assert not view._geometry(view.width()).labels
    assert view.cell_rect(n - 1, n - 1).right() <= view.width()
    assert view.tooltip_for(3, 4).startswith("true class number 3 → predicted class number 4: 1")


def test_ten_thousand_errors_make_no_widgets_and_decode_only_what_is_shown(qtbot) -> None:
    from PySide6.QtWidgets import QWidget

    from engine.core.records import Misclassified, RunMetrics

    panel = _panel(qtbot)
    wrong = [
        Misclassified(index=i, source=f"/photos/{i}.jpg", true="cat", predicted="dog", confidence=0.7)
        for i in range(10_000)
    ]
    asked: list[int] = []
    panel.thumbnails_wanted.connect(lambda entries: asked.extend(e.index for e in entries))
    widgets_before = len(panel.findChildren(QWidget))
    panel.show_metrics(
        RunMetrics(
            val_count=20_000,
            misclassified=wrong,
            misclassified_count=10_000,
            confusion_matrix=[[10_000, 10_000], [0, 0]],
        ),
        ["cat", "dog"],
    )
    assert panel.gallery_model.rowCount() == 10_000
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    qtbot.wait(100)
    assert len(panel.findChildren(QWidget)) <= widgets_before + 5  # rows of data, not 10 000 widgets
    assert 0 in asked and len(asked) < 200  # the rows on screen, not 10 000
    panel.gallery.scrollToBottom()
    qtbot.waitUntil(lambda: 9_999 in asked, timeout=5000)
    assert len(asked) < 400


def test_per_class_table_sorts_and_matches_the_confusion_matrix(qtbot) -> None:
    from PySide6.QtCore import Qt

    from gui.controllers.results import per_class_rows

    panel = _panel(qtbot)
    metrics = _metrics()  # no per_class stored: the controller works the rows out from the matrix
    panel.show_metrics(metrics, ["cat", "dog", "bird"], "", per_class_rows(metrics, ["cat", "dog", "bird"]))
    table = panel.per_class
    assert table.rows_shown() == ["cat", "dog", "bird"] and table.split.isHidden()
    table.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # recall, weakest first
    assert table.rows_shown()[0] == "dog"  # 7 of 11 found
    recall = table.proxy.index(0, 2).data()
    assert recall == f"{7 / 11:.1%}"


def test_array_samples_are_named_by_the_users_row(qtbot) -> None:
    from PySide6.QtCore import Qt

    from engine.core.records import Misclassified

    panel = _panel(qtbot)
    wrong = [
        Misclassified(index=3, true="cat", predicted="dog", confidence=0.6, array="x_train", row=1234),
        Misclassified(index=4, source="/photos/a.jpg", true="cat", predicted="dog", confidence=0.6),
    ]
    panel.show_metrics(_metrics(misclassified=wrong, misclassified_count=2), ["cat", "dog", "bird"])
    model = panel.gallery_model
    caption = model.data(model.index(0), Qt.ItemDataRole.DisplayRole)
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "x_train[1234]" in caption and "x_train[1234]" in tip
    assert "x_train" not in model.data(model.index(1), Qt.ItemDataRole.DisplayRole)
    assert "/photos/a.jpg" in model.data(model.index(1), Qt.ItemDataRole.ToolTipRole)
    assert wrong[0].name == "x_train[1234]" and wrong[1].name == "/photos/a.jpg"
