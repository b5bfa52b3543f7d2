"""The window's scenes, driven as a person would: idle, a training running, paused and finished,
each results tab, a grid running, a comparison, a lesson.

One definition for two users: the layout test (tests/gui/test_layout.py) checks every scene at
several window sizes, and benchmarks/screenshots.py saves a picture of each for the docs. A
scene calls `visit(name)` once the window shows it; `wait(done, timeout_s)` runs the event loop
until `done()` (qtbot.waitUntil in the test, a plain event loop in the screenshot script).
Tiny trainings on the digits bundled with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

Visit = Callable[[str], None]
Wait = Callable[[Callable[[], bool], float], None]

CONFIG = {
    "data.name": "digits",
    "data.limit": 300,
    "data.test_split": None,
    "arch.name": "mlp",
    "training.epochs": 20,
    "training.batch_size": 16,
    "training.early_stopping": False,
}
SCENES = (
    "idle",
    "training",
    "paused",
    "finished",
    "classify",
    "errors",
    "map",
    "labels",
    "runs",
    "grid",
    "comparison",
    "lesson",
)


def digit_png(folder: Path) -> str:
    """A digit drawn as a person would scan it: dark on light, larger than 8×8."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = 255 - np.round(digits.images[-7] * 255 / 16).astype(np.uint8)
    path = folder / f"digit_{digits.target[-7]}.png"
    Image.fromarray(pixels, "L").resize((64, 64), Image.Resampling.NEAREST).save(path)
    return str(path)


def run_bar_places(window: Any) -> dict[str, tuple[int, int, int, int]]:
    """Where the run bar's buttons are, in window coordinates."""
    bar = window.run_bar
    places = {}
    for name in ("train", "pause", "stop", "progress", "eta", "cache", "device"):
        widget = getattr(bar, name)
        corner = widget.mapTo(window, widget.rect().topLeft())
        places[name] = (corner.x(), corner.y(), widget.width(), widget.height())
    return places


def play(window: Any, wait: Wait, visit: Visit, folder: Path) -> None:
    """Every scene in order, in one window whose engine has loaded (digits and mlp are set here)."""
    config = window.session.config
    config.replace(config.config.updated(**CONFIG))
    wait(lambda: _settled(window), 120)
    visit("idle")

    epochs: list[Any] = []
    window.training.event.connect(lambda e: type(e).__name__ == "EpochEnd" and epochs.append(e))
    window.run_bar.train.click()
    wait(lambda: len(epochs) >= 2, 120)
    visit("training")
    window.run_bar.pause.click()
    wait(lambda: window.session.training.status == "paused", 60)
    visit("paused")
    window.run_bar.pause.click()
    wait(lambda: not window.training.busy and window.session.classifier.classifier is not None, 120)
    visit("finished")

    tickets: list[int] = []
    window.classified.connect(tickets.append)
    window.classify_sources([digit_png(folder)])
    wait(lambda: bool(tickets), 60)
    window.results.setCurrentWidget(window.classify_panel)
    visit("classify")
    window.results.setCurrentWidget(window.errors_panel)
    visit("errors")
    window.results.setCurrentWidget(window.map_panel)
    drawn: list[Any] = []
    window.map.drawn.connect(drawn.append)
    window.map_panel.draw_button.click()
    wait(lambda: bool(drawn), 120)
    visit("map")
    window.results.setCurrentWidget(window.labels_panel)
    found: list[Any] = []
    window.labels.found.connect(found.append)
    window.labels.find(2, 1)
    wait(lambda: bool(found) and not window.training.busy, 120)
    visit("labels")
    window.results.setCurrentWidget(window.runs_panel)
    wait(lambda: window.session.runs.status == "ready" and not window.runs._list.busy, 30)
    visit("runs")

    window.session.grid_plan.update(factors=[{"key": "arch.dropout", "values": "off, on"}], repeats=1)
    config.update(**{"training.epochs": 3})
    window.controls.setCurrentWidget(window.controls.widget(4))
    started: list[Any] = []
    window.training.event.connect(lambda e: type(e).__name__ == "EpochEnd" and started.append(e))
    window.grid_panel.run_button.click()
    wait(lambda: window.session.grid.status == "running" and bool(started), 120)
    visit("grid")
    wait(lambda: window.session.grid.status == "finished" and not window.training.busy, 180)
    window.runs.refresh()
    wait(lambda: window.runs_panel.model.rowCount() >= 3 and not window.runs._list.busy, 30)

    window.results.setCurrentWidget(window.runs_panel)
    selection = window.runs_panel.table.selectionModel()
    for row in (0, 1):  # the grid's two runs: dropout off and on
        selection.select(
            window.runs_panel.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        )
    window.runs_panel.compare_button.click()
    wait(lambda: window.session.runs.compared is not None, 60)
    visit("comparison")

    window.lessons.choose("overfitting_regularisation")
    if window.session.lesson.status == "unavailable":
        window.lessons.use_fallback()
    wait(lambda: _settled(window), 120)
    visit("lesson")


def _settled(window: Any) -> bool:
    return (
        window.session.engine.ready
        and window.session.data.status == "ready"
        and not window.data.busy
        and window.session.model.status == "ready"
        and not window.inspect.busy
    )
