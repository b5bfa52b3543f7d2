"""One palette for the whole window: the style sheet, pyqtgraph and the painted widgets share it.

Keeping the colours here (not scattered through widgets) is what makes the plots look like part
of the same application as the controls.
"""
from __future__ import annotations

from pathlib import Path

BACKGROUND = "#17191e"
SURFACE = "#1f2229"
SURFACE_ALT = "#262a33"
BORDER = "#323743"
TEXT = "#dfe3ea"
TEXT_DIM = "#8d95a5"
ACCENT = "#4f8cff"
TRAIN = "#4f8cff"        # training curves
VAL = "#ff9f43"          # validation curves
GOOD = "#3ecf8e"
WARN = "#f5b942"
BAD = "#ff5c5c"
GRID = "#2a2f39"          # plot grid lines and axes (opaque: cheap to draw)

_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
STYLE_SHEET = _RESOURCES / "layerlab.qss"
ICON = Path(__file__).resolve().parent.parent / "assets" / "layerlab.png"


def style_sheet() -> str:
    """The application style sheet (resources/layerlab.qss); empty when it cannot be read."""
    try:
        return STYLE_SHEET.read_text(encoding="utf-8")
    except OSError:
        return ""


def configure_pyqtgraph() -> None:
    """Dark plots with antialiased lines, matching the style sheet."""
    import pyqtgraph as pg

    pg.setConfigOptions(background=SURFACE, foreground=TEXT_DIM, antialias=True)
