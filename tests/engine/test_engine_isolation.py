"""The engine is a headless library: importing any of its modules must not load Qt or the GUI."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def _engine_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(engine.__path__, "engine.") if not m.name.endswith("__main__"))


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


#: Modules that import TensorFlow when imported: the builders of the presets and the training
#: package (its cheap modules, `capabilities` and `metrics`, aside). Every other module is cheap.
HEAVY = (
    "engine.architectures.autoencoders",
    "engine.architectures.backbones",
    "engine.architectures.capsnet",
    "engine.architectures.common",
    "engine.architectures.h5_weights",
    "engine.architectures.layers",
    "engine.architectures.preprocessing",
    "engine.architectures.scratch",
    "engine.training.",
)
CHEAP_IN_HEAVY = ("engine.training.capabilities", "engine.training.metrics")


def test_cheap_modules_do_not_import_tensorflow() -> None:
    """The window and the CLI import these before TensorFlow starts (in the background, or once
    the cheap checks passed): importing every one of them, and using the lessons' availability
    check, must not load TensorFlow."""
    cheap = [m for m in _engine_modules() if m in CHEAP_IN_HEAVY or not m.startswith(HEAVY)]
    assert "engine.inference.classifier" in cheap and "engine.cli.train" in cheap
    code = (
        "import importlib, sys\n"
        f"for name in {cheap!r}:\n"
        "    importlib.import_module(name)\n"
        "import engine.lessons\n"
        "[engine.lessons.lesson_available(lesson) for lesson in engine.lessons.list_lessons()]\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False False"
