"""The window's menus: what each item does lives in a controller or the window; this lists them."""
from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence

from gui.widgets import add_actions


def build_menus(window: Any) -> None:
    """File and Help menus of `window` (a MainWindow with its controllers built)."""
    add_actions(window.menuBar().addMenu("&File"), window, (
        ("Open images…", QKeySequence.StandardKey.Open, window.classify_panel.choose_files),
        ("Paste image", QKeySequence.StandardKey.Paste, window.paste),
        ("Open run folder…", "Ctrl+Shift+O", window.choose_run_folder),
        ("Export…", "Ctrl+E", window.show_export), None,
        ("Caches and memory…", None, window.show_caches), None,
        ("Train", None, window.training.start), ("Stop", None, window.training.stop), None,
        ("Quit", QKeySequence.StandardKey.Quit, window.close)))
    add_actions(window.menuBar().addMenu("&Help"), window, (
        ("Show log", None, window.show_log),
        ("About LayerLab", None, lambda: window.session.say(
            "LayerLab — train image classifiers, freeze layers, watch the curves, drop images to classify. "
            "Every training is saved as a run.", "info"))))
