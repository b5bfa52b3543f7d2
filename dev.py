#!/usr/bin/env python3
"""One-command set-up for LayerLab: `python3 dev.py app` or `python3 dev.py test`.

Why a script rather than a Makefile: it needs nothing but the Python that runs it, works the
same on Linux, macOS and Windows, and (re)creates the project's virtual environment in `.venv`
whenever `pyproject.toml` changed since the last install, so a fresh clone needs no manual step.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".layerlab-installed"


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def ensure_env(extras: str) -> Path:
    """Create `.venv` and install the project (editable) with `extras` when out of date."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    python = venv_python()
    if STAMP.exists() and STAMP.read_text() == wanted and python.exists():
        return python
    if not python.exists():
        print("LayerLab: creating .venv (first run; installing TensorFlow takes a few minutes)…", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.check_call(pip + ["--upgrade", "pip"])
    subprocess.check_call(pip + ["-e", f".[{extras}]" if extras else "."], cwd=ROOT)
    STAMP.write_text(wanted)
    return python


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "app"
    rest = argv[1:]
    if command == "app":
        python = ensure_env("test")
        return subprocess.call([str(python), "-m", "gui.app", *rest], cwd=ROOT)
    if command == "test":
        python = ensure_env("test")
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2")
        return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT, env=env)
    if command == "cli":
        python = ensure_env("test")
        return subprocess.call([str(python), "-m", "engine.cli", *rest], cwd=ROOT)
    if command == "bench":
        python = ensure_env("test")
        return subprocess.call([str(python), "-m", "benchmarks", *rest], cwd=ROOT)
    print(f"usage: python3 dev.py app|test|cli|bench [args...]  (got {command!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
