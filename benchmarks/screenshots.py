"""Screenshots of the window's experiment and insight views, for docs/screenshots/ and the README.

    xvfb-run -s "-screen 0 1600x1000x24" python -m benchmarks.screenshots [--scene grid compare explain map labels
                                                                                lessons_menu lesson autoencoder lrfinder keep]

Each scene drives the real window the way a user would (real trainings on the embedded digits or
generated shapes, real files dropped), waits for the work to finish and saves the window (and a
dialog where the scene opens one). Runs go to a temporary LAYERLAB_HOME.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.screenshot import pause, wait_for

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SCENES = (
    "grid",
    "compare",
    "explain",
    "map",
    "labels",
    "lessons_menu",
    "lesson",
    "autoencoder",
    "lrfinder",
    "keep",
    "folder",
)


def _until(app: Any, done: Callable[[], bool], timeout_s: float = 900) -> None:
    t0 = time.monotonic()
    while not done():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError("the scene did not finish in time")
        pause(app, 0.1)


def _window(app: Any, **config: Any) -> Any:
    from gui.main_window import MainWindow

    window = MainWindow()
    window.session.config.replace(window.session.config.config.updated(**config))
    window.resize(1560, 940)
    window.show()
    wait_for(app, window.engine_ready, 180, lambda: window.session.engine.ready)
    _until(app, lambda: window.session.model.status == "ready" and not window.inspect.busy)
    return window


def _save(window: Any, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    window.grab().save(str(path))
    print(f"saved {path}", flush=True)


def _train(app: Any, window: Any) -> Any:
    results: list[Any] = []
    window.training.finished.connect(results.append)
    window.training.start()
    _until(app, lambda: bool(results))
    _until(app, lambda: window.session.classifier.classifier is not None, 120)
    return results[0]


def scene_grid(app: Any) -> Any:
    """The overfitting lesson as a grid: dropout × batchnorm, two seeds each, on digits."""
    window = _window(
        app,
        **{
            "data.name": "digits",
            "data.limit": None,
            "arch.name": "mlp",
            "training.epochs": 12,
            "training.batch_size": 64,
            "data.test_split": 0.2,
        },
    )
    window.controls.setCurrentWidget(window.controls.widget(4))
    window.session.grid_plan.update(
        factors=[{"key": "arch.dropout", "values": "off, on"}, {"key": "arch.batchnorm", "values": "off, on"}],
        repeats=2,
    )
    window.grid.run()
    _until(app, lambda: window.session.grid.status == "finished" and not window.training.busy)
    window.results.setCurrentWidget(window.runs_panel)
    window.centre_split.setSizes([520, 320])
    pause(app, 0.8)
    _save(window, "grid")
    return window


def scene_compare(app: Any, window: Any) -> Any:
    """Two runs of the grid side by side: dropout against none."""
    window.grid.close()
    _until(app, lambda: window.runs_panel.model.rowCount() >= 4, 60)
    selection = window.runs_panel.table.selectionModel()
    for row in (0, 3):  # in a grid run repeat by repeat, these differ
        selection.select(
            window.runs_panel.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        )
    window.runs_panel.compare_button.click()
    _until(app, lambda: window.session.runs.compared is not None, 60)
    window.centre_split.setSizes([600, 240])
    pause(app, 0.8)
    _save(window, "compare")
    return window


def _shape_pictures(folder: Path) -> list[str]:
    """Three generated shapes, drawn larger than the network's input, as files to drop."""
    from PIL import Image

    from engine.datasets.builtin import generate_shapes

    images, _ = generate_shapes(1, 96, seed=7)
    paths = []
    for i, image in enumerate(images[:3]):
        path = folder / f"shape_{i}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


def scene_explain(app: Any) -> Any:
    """A CNN trained on shapes explains dropped pictures; its layers for one of them."""
    window = _window(
        app,
        **{
            "data.name": "shapes",
            "data.limit": 1500,
            "arch.name": "cifar_cnn",
            "arch.dropout": False,
            "training.epochs": 8,
            "training.batch_size": 64,
        },
    )
    _train(app, window)
    window.session.preferences.update(explain=True)
    tickets: list[int] = []
    window.classified.connect(tickets.append)
    window.classify_sources(_shape_pictures(Path(tempfile.mkdtemp())))
    _until(app, lambda: len(tickets) == 3 and all(c.overlay_shown for c in window.classify_panel.cards.values()), 120)
    window.controls.setCurrentIndex(1)
    pause(app, 0.8)
    _save(window, "explain")
    window.classify.show_layers(tickets[0])
    _until(app, lambda: getattr(window.classify_panel, "_layers_dialog", None) is not None, 120)
    dialog = window.classify_panel._layers_dialog
    pause(app, 0.8)
    path = OUT / "layers.png"
    dialog.grab().save(str(path))
    print(f"saved {path}", flush=True)
    dialog.close()
    return window


def scene_map(app: Any, window: Any) -> Any:
    """The map of the validation shapes, with the dropped pictures as stars."""
    window.results.setCurrentWidget(window.map_panel)
    drawn: list[Any] = []
    window.map.drawn.connect(drawn.append)
    window.map.draw("pca")
    _until(app, lambda: bool(drawn), 300)
    window.classify_sources(_shape_pictures(Path(tempfile.mkdtemp())))
    _until(app, lambda: window.map_panel.star_count() >= 3, 120)
    window.results.setCurrentWidget(window.map_panel)  # new cards brought the Classify tab forward
    window.map_panel.point_hovered.emit(5)
    pause(app, 0.8)
    _save(window, "map")
    return window


def scene_labels(app: Any) -> Any:
    """Digits with 20 labels planted wrong: the label-issue gallery, one sample excluded."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.round(digits.images * (255 / 16)).astype(np.uint8)
    y = digits.target.copy()
    flipped = np.arange(0, len(y), 90)
    y[flipped] = (y[flipped] + 3) % 10
    data = Path(tempfile.mkdtemp()) / "digits_with_flips.npz"
    np.savez(data, x=x, y=y)
    window = _window(app, **{"data.name": f"npz:{data}", "arch.name": "mlp", "training.epochs": 10})
    window.results.setCurrentWidget(window.labels_panel)
    found: list[Any] = []
    window.labels.found.connect(found.append)
    window.labels.find(4, 10)
    _until(app, lambda: bool(found))
    panel = window.labels_panel
    panel.gallery.setCurrentIndex(panel.model.index(0))
    panel.exclude.click()
    _until(app, lambda: "excluded" in panel.decisions.text(), 60)
    panel.gallery.setCurrentIndex(panel.model.index(1))
    pause(app, 1.0)
    _save(window, "labels")
    return window


def scene_lessons_menu(app: Any) -> Any:
    """The Lessons menu open, the mouse on a lesson (its note in the status bar)."""
    window = _window(app, **{"data.name": "digits", "arch.name": "mlp"})
    bar = window.menuBar()
    menu = window.lessons_menu
    menu.popup(bar.mapToGlobal(bar.actionGeometry(menu.menuAction()).bottomLeft()))
    pause(app, 0.5)
    action = next(a for a in menu.actions() if a.data() == "overfitting_regularisation")
    menu.setActiveAction(action)
    window.statusBar().showMessage(action.statusTip())
    pause(app, 0.8)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "lessons_menu.png"
    top_left = window.frameGeometry().topLeft()
    app.primaryScreen().grabWindow(
        0, top_left.x(), top_left.y(), window.frameGeometry().width(), window.frameGeometry().height()
    ).save(str(path))
    print(f"saved {path}", flush=True)
    menu.close()
    return window


def scene_lesson(app: Any, window: Any = None) -> Any:
    """The overfitting lesson, offline: run on digits instead, finished, both figures on the card."""
    window = window or _window(app, **{"data.name": "digits", "arch.name": "mlp"})
    window.lessons.choose("overfitting_regularisation")
    window.lessons.use_fallback()
    window.session.config.update(**{"training.epochs": 12})
    window.controls.setCurrentWidget(window.controls.widget(4))
    finished: list[Any] = []
    window.lessons.finished.connect(finished.append)
    window.lessons.run()
    _until(app, lambda: bool(finished) and not window.training.busy)
    window.results.setCurrentWidget(window.runs_panel)
    window.centre_split.setSizes([520, 0, 250, 0])
    pause(app, 0.8)
    _save(window, "lesson")
    return window


def scene_autoencoder(app: Any) -> Any:
    """The denoising autoencoder lesson on digits: loss only, originals · noisy · reconstructions,
    and two dropped digits reconstructed."""
    from PIL import Image
    from sklearn.datasets import load_digits

    window = _window(app, **{"data.name": "digits", "arch.name": "mlp"})
    window.lessons.choose("denoising_autoencoder")
    window.lessons.use_fallback()
    window.session.config.update(**{"training.epochs": 15, "training.batch_size": 32, "arch.noise": 0.3})
    window.controls.setCurrentIndex(1)
    finished: list[Any] = []
    window.lessons.finished.connect(finished.append)
    window.lessons.run()
    _until(app, lambda: bool(finished) and window.session.autoencoder.status == "ready")
    folder = Path(tempfile.mkdtemp())
    digits = load_digits()
    paths = []
    for i in (3, 12):
        path = folder / f"digit_{digits.target[-i]}_{i}.png"
        Image.fromarray(np.round(digits.images[-i] * 255 / 16).astype(np.uint8), "L").resize((64, 64)).save(path)
        paths.append(str(path))
    shown: list[int] = []
    window.autoencoder.reconstructed.connect(shown.append)
    window.classify_sources(paths)
    _until(app, lambda: len(shown) == 2, 120)
    window.centre_split.setSizes([400, 0, 0, 320])
    pause(app, 0.8)
    _save(window, "autoencoder")
    return window


def scene_lr_finder(app: Any) -> Any:
    """The learning-rate finder in the Training tab: the sweep, the suggestion marked and used."""
    window = _window(app, **{"data.name": "digits", "data.limit": None, "arch.name": "mlp", "training.batch_size": 32})
    window.controls.setCurrentIndex(3)
    found: list[Any] = []
    window.lr_finder.found.connect(found.append)
    window.lr_panel.find.click()
    _until(app, lambda: bool(found) and not window.training.busy)
    window.lr_panel.use.click()
    pause(app, 0.8)
    _save(window, "lr-finder")
    return window


def scene_keep(app: Any) -> Any:
    """Pause a one-cycle training, stop it, Resume it from the Runs tab (the curves go on where they
    were, the rate of each epoch under the loss), then File → Export… as TFLite."""
    window = _window(
        app,
        **{
            "data.name": "digits",
            "data.limit": None,
            "arch.name": "mlp",
            "training.epochs": 14,
            "training.batch_size": 64,
            "training.schedule": "one_cycle",
        },
    )
    window.controls.setCurrentIndex(3)
    window.results.setCurrentWidget(window.runs_panel)

    def pause_at_epoch_six(event: Any) -> None:
        if type(event).__name__ == "EpochEnd" and event.epoch == 5 and window.session.training.status == "running":
            window.training.toggle_pause()

    window.training.event.connect(pause_at_epoch_six)
    results: list[Any] = []
    window.training.finished.connect(results.append)
    window.training.start()
    _until(app, lambda: window.session.training.status == "paused")
    window.training.event.disconnect(pause_at_epoch_six)
    pause(app, 0.8)
    _save(window, "paused")
    window.training.stop()
    _until(app, lambda: bool(results) and not window.training.busy)
    run_dir = str(results[0].run_dir)
    _until(app, lambda: run_dir in [str(s.path) for s in window.runs_panel.summaries] and not window.runs._list.busy)
    window.runs_panel.table.selectRow([str(s.path) for s in window.runs_panel.summaries].index(run_dir))
    window.runs_panel.resume_button.click()
    _until(app, lambda: len(results) == 2 and not window.training.busy)
    _until(app, lambda: window.session.classifier.classifier is not None, 120)
    pause(app, 0.8)
    _save(window, "resumed")
    window.show_export()
    dialog = window.export_dialog
    dialog.format.setCurrentIndex(dialog.format.findData("tflite"))
    dialog.quantize.setCurrentIndex(dialog.quantize.findData("float16"))
    exported: list[Any] = []
    window.export.exported.connect(exported.append)
    dialog.export_button.click()
    _until(app, lambda: bool(exported))
    pause(app, 0.5)
    OUT.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(OUT / "export.png"))
    print(f"saved {OUT / 'export.png'}", flush=True)
    return window


def scene_folder(app: Any) -> Any:
    """A class folder of photos in the Data tab: counts, samples, the image size and how photos
    are shrunk to it."""
    from benchmarks.scale import photo_folder

    folder = photo_folder(80, Path(tempfile.mkdtemp(prefix="layerlab-shots-photos-")))
    window = _window(
        app,
        **{
            "data.name": f"folder:{folder}",
            "data.image_size": 160,
            "arch.name": "mobilenet_v2",
            "arch.weights": "none",
        },
    )
    window.controls.setCurrentIndex(0)
    pause(app, 2.0)  # the sample thumbnails decode on the io lane
    _save(window, "data-folder")
    return window


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", nargs="+", choices=SCENES, default=list(SCENES))
    args = parser.parse_args(argv)
    os.environ.setdefault("LAYERLAB_HOME", tempfile.mkdtemp(prefix="layerlab-shots-"))
    os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="layerlab-shots-keras-"))  # lessons offline: fallbacks
    from gui.app import create_application

    app = create_application([])
    grid_window = explain_window = lessons_window = None
    for scene in args.scene:
        if scene == "grid":
            grid_window = scene_grid(app)
        elif scene == "compare":
            scene_compare(app, grid_window or scene_grid(app))
        elif scene == "explain":
            explain_window = scene_explain(app)
        elif scene == "map":
            scene_map(app, explain_window or scene_explain(app))
        elif scene == "labels":
            scene_labels(app).close()
        elif scene == "lessons_menu":
            lessons_window = scene_lessons_menu(app)
        elif scene == "lesson":
            scene_lesson(app, lessons_window).close()
            lessons_window = None
        elif scene == "autoencoder":
            scene_autoencoder(app).close()
        elif scene == "lrfinder":
            scene_lr_finder(app).close()
        elif scene == "keep":
            scene_keep(app).close()
        elif scene == "folder":
            scene_folder(app).close()
    for window in (grid_window, explain_window, lessons_window):
        if window is not None:
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
