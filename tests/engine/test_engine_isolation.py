"""The engine is a headless library: importing any of its modules must not load Qt or the GUI."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def _engine_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine."))


def test_every_engine_module_imports_without_qt_or_gui() -> None:
    modules = _engine_modules()
    assert "engine.training.trainer" in modules and "engine.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'qtpy', 'superqt', 'pyqtgraph', 'gui', 'shiboken6'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"engine pulled in: {out.stdout.strip()}"


def test_cheap_modules_do_not_import_tensorflow() -> None:
    """The window imports these at start-up; TensorFlow must load in the background instead."""
    code = (
        "import sys\n"
        "import engine.config, engine.core.events, engine.core.cancel, engine.core.errors, engine.runs.folders, engine.datasets, engine.architectures, engine.images.decode\n"
        "import engine.lessons, engine.inference.reconstruction, engine.architectures.outputs\n"
        "[engine.lessons.lesson_available(lesson) for lesson in engine.lessons.list_lessons()]\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False False"
