"""One palette for the whole window: the style sheet, pyqtgraph and the painted widgets share it.

Keeping the colours here (not scattered through widgets) is what makes the plots look like part
of the same application as the controls.
"""

from __future__ import annotations

import sys
from pathlib import Path

BACKGROUND = "#17191e"
SURFACE = "#1f2229"
SURFACE_ALT = "#262a33"
BORDER = "#323743"
TEXT = "#dfe3ea"
TEXT_DIM = "#8d95a5"
ACCENT = "#4f8cff"
TRAIN = "#4f8cff"  # training curves
VAL = "#ff9f43"  # validation curves
GOOD = "#3ecf8e"
WARN = "#f5b942"
BAD = "#ff5c5c"
GRID = "#2a2f39"  # plot grid lines and axes (opaque: cheap to draw)
#: One colour per run when runs are compared (distinct on the dark background, colour-blind safe first).
RUN_COLORS = ("#4f8cff", "#ff9f43", "#3ecf8e", "#e05cff", "#f5e642", "#ff5c8a", "#5ce1e6", "#b0b8c8")

#: A checkout (and the editable install dev.py makes) reads resources/ and assets/ in place.
CHECKOUT = Path(__file__).resolve().parent.parent
#: A wheel installs them under <prefix>/share/layerlab (pyproject's [tool.setuptools.data-files]).
INSTALLED = Path(sys.prefix) / "share" / "layerlab"


def data_path(relative: str, roots: tuple[Path, ...] = (CHECKOUT, INSTALLED)) -> Path:
    """The first of `roots` that holds `relative` (the checkout's path when none does)."""
    for root in roots:
        if (root / relative).is_file():
            return root / relative
    return roots[0] / relative


STYLE_SHEET = data_path("resources/layerlab.qss")
ICON = data_path("assets/layerlab.png")


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
