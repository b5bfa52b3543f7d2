"""The style sheet and icon are found in a checkout and where a wheel installs them."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from gui import theme

ROOT = Path(__file__).resolve().parents[2]


def test_checkout_reads_resources_in_place() -> None:
    assert theme.STYLE_SHEET == ROOT / "resources" / "layerlab.qss"
    assert "QPushButton" in theme.style_sheet()
    assert theme.ICON.is_file()


def test_wheel_data_files_land_where_the_theme_looks(tmp_path: Path) -> None:
    """Lay out pyproject's data-files as pip does under a prefix; the theme must find them there."""
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    prefix = tmp_path / "prefix"
    for target, sources in data_files.items():
        for source in sources:
            (prefix / target).mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, prefix / target)
    roots = (tmp_path / "not-a-checkout", prefix / "share" / "layerlab")
    for relative in ("resources/layerlab.qss", "assets/layerlab.png"):
        found = theme.data_path(relative, roots)
        assert found.is_file() and found.is_relative_to(prefix), relative
    assert (prefix / "share" / "applications" / "layerlab.desktop").is_file()
