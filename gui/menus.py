"""The window's menus: what each item does lives in a controller or the window; this lists them.

Every shortcut lives on a menu action (so the menu shows it) and is named in the tooltip of the
button that does the same (gui/panels/training.py's run bar); Help → Keyboard shortcuts lists
them all from these same tables.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from gui.widgets import add_actions

TRAIN_KEY, PAUSE_KEY, STOP_KEY = "Ctrl+Return", "Ctrl+P", "Ctrl+."


def build_menus(window: Any) -> None:
    """File, Training, View, Lessons and Help menus of `window` (a MainWindow with its controllers built)."""
    bar = window.menuBar()
    window.menu_actions = {}
    _menu(
        window,
        "&File",
        (
            ("Open images…", QKeySequence.StandardKey.Open, window.classify_panel.choose_files),
            ("Paste image", QKeySequence.StandardKey.Paste, window.paste),
            ("Open run folder…", "Ctrl+Shift+O", window.choose_run_folder),
            ("Export…", "Ctrl+E", window.show_export),
            None,
            ("Caches and memory…", None, window.show_caches),
            None,
            ("Quit", QKeySequence.StandardKey.Quit, window.close),
        ),
    )
    _menu(
        window,
        "&Training",
        (
            ("Train", TRAIN_KEY, window.training.start),
            ("Pause / Resume", PAUSE_KEY, window.training.toggle_pause),
            ("Stop", STOP_KEY, window.training.stop),
        ),
    )
    window.run_bar.set_shortcuts(
        *(
            QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
            for key in (TRAIN_KEY, PAUSE_KEY, STOP_KEY)
        )
    )
    _menu(
        window,
        "&View",
        (
            ("Curves", "Ctrl+1", window.centre_views.show_curves),
            None,
            ("Settings column", "Ctrl+[", lambda: _toggle_column(window, 0)),
            ("Results column", "Ctrl+]", lambda: _toggle_column(window, 2)),
            ("Reset column widths", None, window.reset_columns),
        ),
    )
    build_lessons_menu(window)
    _menu(
        window,
        "&Help",
        (
            ("Getting started", "F1", window.show_tour),
            ("Keyboard shortcuts", "Ctrl+/", window.show_shortcuts),
            None,
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
    bar.setObjectName("MenuBar")


def _menu(window: Any, title: str, entries: tuple[tuple[str, Any, Any] | None, ...]) -> QMenu:
    menu = window.menuBar().addMenu(title)
    add_actions(menu, window, entries)
    for action in menu.actions():
        if action.text():
            window.menu_actions[action.text()] = action
    return menu


def _toggle_column(window: Any, index: int) -> None:
    """Fold a side column away, or bring it back at its share of the width."""
    sizes = window.splitter.sizes()
    if sizes[index] > 0:
        sizes[1] += sizes[index]
        sizes[index] = 0
        window.splitter.setSizes(sizes)
    else:
        window.reset_columns()


def shortcuts(window: Any) -> list[tuple[str, str]]:
    """(what, keys) of every menu action that has a shortcut, in the menus' order."""
    found = []
    for action in window.menuBar().actions():
        menu = action.menu()
        for item in menu.actions() if menu is not None else ():
            keys = item.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                found.append((item.text().replace("&", ""), keys))
    return found


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
