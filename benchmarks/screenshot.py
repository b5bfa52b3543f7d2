"""Make docs/screenshots/main-window.png: the real window at a laptop's 1280×720 after training on
digits, with dropped digits classified.

    xvfb-run -s "-screen 0 1280x720x24" python -m benchmarks.screenshot [--epochs 12] [--out PATH] [--size 1280x720]

Runs go to a temporary LAYERLAB_HOME unless one is set, so the user's runs list stays clean.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def wait_for(app: Any, signal: Any, timeout_s: float, done: Any = None) -> None:
    """Run the event loop until `signal` fires (or `done()` is already true), at most `timeout_s`."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done is not None and done():
        return
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    t0 = time.monotonic()
    loop.exec()
    signal.disconnect(loop.quit)
    if done is not None and not done() and time.monotonic() - t0 >= timeout_s:
        raise TimeoutError(f"waited {timeout_s} s for {signal}")


def pause(app: Any, seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "main-window.png")
    parser.add_argument(
        "--image",
        type=Path,
        nargs="*",
        default=[
            ROOT / "assets" / "samples" / "digit_4.png",
            ROOT / "assets" / "samples" / "digit_7.png",
            ROOT / "assets" / "samples" / "digit_3.png",
        ],
    )
    parser.add_argument("--tabs", type=Path, help="also save every tab of both columns into this folder (review)")
    parser.add_argument("--size", default="1280x720", help="the window's size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    os.environ.setdefault("LAYERLAB_HOME", tempfile.mkdtemp(prefix="layerlab-shot-"))

    from gui.app import create_application

    app = create_application([])
    from gui.main_window import MainWindow

    window = MainWindow()
    window.session.config.replace(
        window.session.config.config.updated(
            **{
                "data.name": "digits",
                "data.limit": None,
                "arch.name": "mlp",
                "arch.dropout": True,
                "training.epochs": args.epochs,
                "training.batch_size": 32,
                "training.early_stopping": False,
            }
        )
    )
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.show()
    window.resize(width, height)
    pause(app, 0.2)
    window.reset_columns()
    wait_for(app, window.engine_ready, 120, lambda: window.session.engine.ready)
    wait_for(app, window.inspection_shown, 60, lambda: window.session.model.status == "ready")
    window.controls.setCurrentIndex(1)  # Model tab: the layer table
    window.training.start()
    wait_for(app, window.training_finished, 600)
    wait_for(app, window.classifier_ready, 60, lambda: window.session.classifier.classifier is not None)
    window.classify_sources([str(p) for p in args.image])
    for _ in args.image:
        wait_for(app, window.classified, 60)
    pause(app, 0.5)  # let the last redraw happen
    args.out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out))
    print(f"saved {args.out}")
    if args.tabs:
        args.tabs.mkdir(parents=True, exist_ok=True)
        for i in range(5):
            window.controls.setCurrentIndex(i)
            window.results.setCurrentIndex(i)
            pause(app, 0.2)
            window.grab().save(str(args.tabs / f"tabs-{i}.png"))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
