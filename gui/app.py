"""`layerlab`: open the LayerLab window (also `python -m gui.app`).

The window appears before TensorFlow is loaded: `main()` builds the Qt application and the window,
whose engine controller imports TensorFlow in a background task (gui/engine_startup.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the terminal

from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QApplication

from gui import gc_guard, theme

# While a training thread runs Keras' Python loop, the UI thread waits for the GIL at each of
# its many Python calls; a shorter switch interval (default 5 ms) bounds each wait.
GIL_SWITCH_INTERVAL_S = 0.002


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication with LayerLab's name, font, icon and style (reused if one exists)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("LayerLab")
    app.setOrganizationName("LayerLab")
    app.setApplicationDisplayName("LayerLab")
    app.setDesktopFileName("layerlab")
    app.setStyle("Fusion")
    font = QFont(app.font())
    font.setPointSize(10)
    app.setFont(font)
    if theme.ICON.is_file():
        app.setWindowIcon(QIcon(str(theme.ICON)))
    app.setStyleSheet(theme.style_sheet())
    theme.configure_pyqtgraph()
    gc_guard.install(app)  # Qt objects die on the UI thread, never in the training thread
    return app


def main(argv: Sequence[str] | None = None) -> int:
    app = create_application(argv)
    from gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    args = list(argv if argv is not None else sys.argv[1:])
    files = [a for a in args if Path(a).exists()]
    if files:  # `layerlab picture.png` classifies it as soon as a model exists
        window.classify_sources(files)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
