"""The Errors tab on its own: confusion matrix cells and filtering the gallery by clicking a cell."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt


def _metrics() -> dict[str, Any]:
    matrix = [[5, 2, 0], [1, 7, 3], [0, 0, 9]]
    names = ["cat", "dog", "bird"]
    wrong = [{"index": i, "source": None, "true": names[t], "predicted": names[p], "confidence": 0.6}
             for i, (t, p) in enumerate([(0, 1), (0, 1), (1, 0), (1, 2), (1, 2), (1, 2)])]
    return {"val_accuracy": 21 / 27, "val_loss": 0.5, "train_accuracy": 0.9, "train_loss": 0.3,
            "val_count": 27, "misclassified": wrong, "misclassified_count": len(wrong), "confusion_matrix": matrix}


def test_confusion_matrix_cells_and_click_filters_gallery(qtbot) -> None:
    from gui.app import create_application
    from gui.panels.errors import ErrorsPanel

    create_application([])
    panel = ErrorsPanel()
    qtbot.addWidget(panel)
    panel.resize(340, 900)
    panel.show()
    image = np.zeros((8, 8), dtype=np.uint8)
    panel.show_metrics(_metrics(), lambda entry: image, class_names=["cat", "dog", "bird"])
    view = panel.confusion
    assert panel.confusion_box.isVisible()
    assert [[view.count(r, c) for c in range(3)] for r in range(3)] == [[5, 2, 0], [1, 7, 3], [0, 0, 9]]
    assert view.tooltip_for(1, 2).startswith("true dog → predicted bird: 3")
    assert panel.count.text() == "6 errors / 27" and panel.grid.count() == 6
    assert view.width() <= 340 and view.cell_rect(2, 2).right() <= view.width()

    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 2).center().toPoint())
    assert panel.filter == ("dog", "bird") and panel.grid.count() == 3
    assert panel.count.text() == "3 of 6 errors" and panel.show_all.isVisible()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(0, 1).center().toPoint())
    assert panel.filter == ("cat", "dog") and panel.grid.count() == 2
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(0, 1).center().toPoint())   # again: clear
    assert panel.filter is None and panel.grid.count() == 6 and not panel.show_all.isVisible()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 1).center().toPoint())   # diagonal
    assert panel.filter is None
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(1, 0).center().toPoint())
    assert panel.grid.count() == 1
    panel.show_all.linkActivated.emit("#all")
    assert panel.filter is None and panel.grid.count() == 6

    older = _metrics()
    del older["confusion_matrix"]          # runs saved before the matrix existed: no matrix, gallery still works
    panel.show_metrics(older, lambda entry: None)
    assert not panel.confusion_box.isVisible() and panel.grid.count() == 6


def test_many_classes_are_a_heat_map_that_fits(qtbot) -> None:
    from gui.app import create_application
    from gui.panels.errors import ErrorsPanel

    create_application([])
    panel = ErrorsPanel()
    qtbot.addWidget(panel)
    panel.resize(340, 900)
    panel.show()
    n = 40
    matrix = (np.eye(n, dtype=int) * 20 + 1).tolist()
    panel.show_metrics({"val_count": n * n + 19 * n, "misclassified": [], "misclassified_count": n * n - n,
                        "confusion_matrix": matrix}, lambda entry: None, class_names=[f"class number {i}" for i in range(n)])
    view = panel.confusion
    assert not view._geometry(view.width()).labels
    assert view.cell_rect(n - 1, n - 1).right() <= view.width()
    assert view.tooltip_for(3, 4).startswith("true class number 3 → predicted class number 4: 1")
