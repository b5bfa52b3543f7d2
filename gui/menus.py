"""The window's menus: what each item does lives in a controller or the window; this lists them."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from gui.widgets import add_actions


def build_menus(window: Any) -> None:
    """File and Help menus of `window` (a MainWindow with its controllers built)."""
    add_actions(
        window.menuBar().addMenu("&File"),
        window,
        (
            ("Open images…", QKeySequence.StandardKey.Open, window.classify_panel.choose_files),
            ("Paste image", QKeySequence.StandardKey.Paste, window.paste),
            ("Open run folder…", "Ctrl+Shift+O", window.choose_run_folder),
            ("Export…", "Ctrl+E", window.show_export),
            None,
            ("Caches and memory…", None, window.show_caches),
            None,
            ("Train", None, window.training.start),
            ("Stop", None, window.training.stop),
            None,
            ("Quit", QKeySequence.StandardKey.Quit, window.close),
        ),
    )
    build_lessons_menu(window)
    add_actions(
        window.menuBar().addMenu("&Help"),
        window,
        (
            ("Show log", None, window.show_log),
            (
                "About LayerLab",
                None,
                lambda: window.session.say(
                    "LayerLab — train image classifiers, freeze layers, watch the curves, drop images to classify. "
                    "Every training is saved as a run.",
                    "info",
                ),
            ),
        ),
    )


def build_lessons_menu(window: Any) -> QMenu:
    """The classic lessons (engine.lessons), one item each, their note as tooltip and status tip."""
    from gui.controllers.lessons import lesson_titles

    menu = window.menuBar().addMenu("&Lessons")
    menu.setObjectName("LessonsMenu")
    menu.setToolTipsVisible(True)
    for name, title, note in lesson_titles():
        action = QAction(title, window)
        action.setObjectName(f"lesson_{name}")
        action.setData(name)
        action.setToolTip(note)
        action.setStatusTip(note)
        action.triggered.connect(lambda checked=False, n=name: window.lessons.choose(n))
        menu.addAction(action)
    window.lessons_menu = menu
    return menu
