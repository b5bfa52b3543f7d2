"""Screenshots of the window, for docs/screenshots/ and the README, at a laptop's 1280×720.

    xvfb-run -s "-screen 0 1280x720x24" python -m benchmarks.screenshots [--scene layout explain ...]
    QT_SCALE_FACTOR=2 xvfb-run -s "-screen 0 2560x1440x24" python -m benchmarks.screenshots --out /tmp/2x

`layout` plays the scenes the layout test checks (tests/gui/scenes.py: idle, a training running,
paused and finished, each results tab, a grid running, a comparison, a lesson) and saves each as
`<scene>.png` (main-window.png is benchmarks/screenshot.py's). The other
scenes drive the window the way a user would for one feature each (real trainings on the
embedded digits or generated shapes, real files dropped) and save the window or the dialog it
opens. Runs go to a temporary LAYERLAB_HOME.
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

from benchmarks.screenshot import pause

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SIZE = (1280, 720)
SCENES = ("layout", "explain", "autoencoder", "lrfinder", "keep", "folder", "backbone", "lessons_menu", "tour")


def _until(app: Any, done: Callable[[], bool], timeout_s: float = 900) -> None:
    t0 = time.monotonic()
    while not done():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError("the scene did not finish in time")
        pause(app, 0.05)


def _window(app: Any, **config: Any) -> Any:
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    _fit(app, window)
    _until(app, lambda: window.session.engine.ready, 180)
    if config:
        window.session.config.replace(window.session.config.config.updated(**config))
    _until(app, lambda: window.session.model.status == "ready" and not window.inspect.busy and not window.data.busy)
    return window


def _fit(app: Any, window: Any) -> None:
    """The window at the picture's size, its columns as a first start at that size lays them out."""
    window.resize(*SIZE)
    pause(app, 0.2)
    window.reset_columns()
    pause(app, 0.2)


def _save(window: Any, name: str, widget: Any = None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    (widget or window).grab().save(str(path))
    print(f"saved {path}", flush=True)


def scene_layout(app: Any) -> None:
    """Every scene of tests/gui/scenes.py, one picture each."""
    from tests.gui import scenes

    window = _window(app)

    def visit(name: str) -> None:
        _fit(app, window)
        pause(app, 0.6)
        _save(window, name)

    scenes.play(window, lambda done, timeout: _until(app, done, timeout), visit, Path(tempfile.mkdtemp()))
    window.close()


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


def _train(app: Any, window: Any) -> Any:
    results: list[Any] = []
    window.training.finished.connect(results.append)
    window.training.start()
    _until(app, lambda: bool(results) and not window.training.busy)
    _until(app, lambda: window.session.classifier.classifier is not None, 120)
    return results[0]


def scene_explain(app: Any) -> None:
    """A CNN trained on shapes explains dropped pictures; its layers for one of them."""
    window = _window(
        app,
        **{
            "data.name": "shapes",
            "data.limit": 900,
            "arch.name": "cifar_cnn",
            "arch.dropout": False,
            "training.epochs": 6,
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
    _save(window, "layers", dialog)
    dialog.close()
    window.close()


def scene_autoencoder(app: Any) -> None:
    """The denoising autoencoder lesson on digits: loss only, originals · noisy · reconstructions,
    and two dropped digits reconstructed."""
    from PIL import Image
    from sklearn.datasets import load_digits

    window = _window(app)
    window.lessons.choose("denoising_autoencoder")
    window.lessons.use_fallback()
    window.session.config.update(**{"training.epochs": 10, "training.batch_size": 32, "arch.noise": 0.3})
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
    window.centre.open("autoencoder")
    pause(app, 0.8)
    _save(window, "autoencoder")
    window.close()


def scene_lr_finder(app: Any) -> None:
    """The learning-rate finder in the Training tab: the sweep, the suggestion marked and used."""
    window = _window(app, **{"data.name": "digits", "data.limit": None, "arch.name": "mlp", "training.batch_size": 32})
    window.controls.setCurrentIndex(3)
    found: list[Any] = []
    window.lr_finder.found.connect(found.append)
    window.lr_panel.find.click()
    _until(app, lambda: bool(found) and not window.training.busy)
    window.lr_panel.use.click()
    window.controls.currentWidget().ensureWidgetVisible(window.lr_panel, 0, 0)  # the sweep's plot, whole
    pause(app, 0.8)
    _save(window, "lr-finder")
    window.close()


def scene_keep(app: Any) -> None:
    """A one-cycle training stopped, Resumed from the Runs tab (the curves go on where they were, the
    rate of each epoch under the loss), the Continue-or-fork dialog, then File → Export… as TFLite."""
    window = _window(
        app,
        **{
            "data.name": "digits",
            "data.limit": None,
            "arch.name": "mlp",
            "training.epochs": 12,
            "training.batch_size": 64,
            "training.schedule": "one_cycle",
        },
    )
    window.results.setCurrentWidget(window.runs_panel)

    def stop_at_epoch_five(event: Any) -> None:
        if type(event).__name__ == "EpochEnd" and event.epoch == 4 and window.session.training.status == "running":
            window.training.stop()

    window.training.event.connect(stop_at_epoch_five)
    results: list[Any] = []
    window.training.finished.connect(results.append)
    window.training.start()
    _until(app, lambda: bool(results) and not window.training.busy)
    window.training.event.disconnect(stop_at_epoch_five)
    run_dir = str(results[0].run_dir)
    paths = lambda: [str(s.path) for s in window.runs_panel.summaries]  # noqa: E731
    _until(app, lambda: run_dir in paths() and not window.runs._list.busy)
    window.runs_panel.table.selectRow(paths().index(run_dir))
    window.runs_panel.resume_button.click()
    _until(app, lambda: len(results) == 2 and not window.training.busy)
    _until(app, lambda: window.session.classifier.classifier is not None, 120)
    pause(app, 0.8)
    _save(window, "resumed")
    _until(app, lambda: run_dir in paths() and not window.runs._list.busy)
    window.runs_panel.table.selectRow(paths().index(run_dir))
    window.runs_panel.keep_button.click()
    _until(app, lambda: window.runs_panel.keep_dialog is not None, 60)
    dialog = window.runs_panel.keep_dialog
    dialog.fork_choice.setChecked(True)
    dialog.extra.setValue(8)
    pause(app, 0.5)
    _save(window, "keep-dialog", dialog)
    dialog.reject()
    window.show_export()
    export = window.export_dialog
    export.format.setCurrentIndex(export.format.findData("tflite"))
    export.quantize.setCurrentIndex(export.quantize.findData("float16"))
    exported: list[Any] = []
    window.export.exported.connect(exported.append)
    export.export_button.click()
    _until(app, lambda: bool(exported))
    pause(app, 0.5)
    _save(window, "export", export)
    export.close()
    window.close()


def scene_folder(app: Any) -> None:
    """A class folder of photos in the Data tab: counts, samples, the image size and how photos
    are shrunk to it."""
    from benchmarks.scale import photo_folder

    folder = photo_folder(80, Path(tempfile.mkdtemp(prefix="layerlab-shots-photos-")))
    window = _window(app, **{"data.name": f"folder:{folder}", "data.image_size": 96, "arch.name": "mlp"})
    window.controls.setCurrentIndex(0)
    pause(app, 2.0)  # the sample thumbnails decode on the io lane
    _save(window, "data-folder")
    window.close()


def scene_backbone(app: Any) -> None:
    """MobileNetV2 chosen with random weights: its layers grouped by block, the base unfrozen at
    once and why (a frozen base of random weights would stay at chance)."""
    window = _window(app, **{"data.name": "shapes", "data.limit": 300, "data.image_size": 96})
    window.controls.setCurrentIndex(1)
    window.session.config.update(**{"arch.name": "mobilenet_v2"})  # ImageNet weights: there, or said missing
    _until(app, lambda: window.session.model.status in ("ready", "failed") and not window.inspect.busy, 300)
    window.session.config.update(**{"arch.weights": "none"})
    _until(app, lambda: window.session.model.status == "ready" and not window.inspect.busy, 300)
    pause(app, 0.8)
    _save(window, "backbone")
    window.close()


def scene_lessons_menu(app: Any) -> None:
    """The Lessons menu open, the mouse on a lesson (its note in the status bar)."""
    window = _window(app)
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
    geometry = window.frameGeometry()
    app.primaryScreen().grabWindow(0, top_left.x(), top_left.y(), geometry.width(), geometry.height()).save(str(path))
    print(f"saved {path}", flush=True)
    menu.close()
    window.close()


def scene_tour(app: Any) -> None:
    """Help → Getting started, at its third step (Train), over the window it points into."""
    window = _window(app)
    window.show_tour()
    window.tour.show_step(2)
    window.tour.move(window.geometry().center() - window.tour.rect().center())
    pause(app, 0.8)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "getting-started.png"
    geometry = window.frameGeometry()
    app.primaryScreen().grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height()).save(str(path))
    print(f"saved {path}", flush=True)
    window.tour.close()
    window.close()


def main(argv: Sequence[str] | None = None) -> int:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", nargs="+", choices=SCENES, default=list(SCENES))
    parser.add_argument("--out", type=Path, default=OUT, help="the folder the pictures go to")
    args = parser.parse_args(argv)
    OUT = args.out
    os.environ.setdefault("LAYERLAB_HOME", tempfile.mkdtemp(prefix="layerlab-shots-"))
    os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="layerlab-shots-keras-"))  # lessons offline: fallbacks
    from gui.app import create_application

    app = create_application([])
    scenes = {
        "layout": scene_layout,
        "explain": scene_explain,
        "autoencoder": scene_autoencoder,
        "lrfinder": scene_lr_finder,
        "keep": scene_keep,
        "folder": scene_folder,
        "backbone": scene_backbone,
        "lessons_menu": scene_lessons_menu,
        "tour": scene_tour,
    }
    for scene in args.scene:
        scenes[scene](app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
