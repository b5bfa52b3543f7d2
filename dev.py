#!/usr/bin/env python3
"""One-command set-up for LayerLab: `python3 dev.py app` or `python3 dev.py test`.

Why a script rather than a Makefile: it needs nothing but the Python that runs it, works the
same on Linux, macOS and Windows, and (re)creates the project's virtual environment in `.venv`
whenever `pyproject.toml` changed since the last install, so a fresh clone needs no manual step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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


#: What Qt's X11 plugin loads beyond a plain desktop (soname → Debian/Ubuntu package). Qt ≥ 6.5
#: refuses to start without libxcb-cursor0, which many desktops lack.
QT_X11_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-image.so.0": "libxcb-image0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def missing_qt_packages() -> list[str]:
    """Debian packages of the Qt X11 libraries this Linux machine lacks (empty elsewhere)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") not in ("", "xcb"):
        return []
    try:
        known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    return [package for soname, package in QT_X11_LIBRARIES.items() if soname not in known]


def ensure_qt_libraries() -> None:
    """Install what Qt's window needs with apt-get when we may (root or password-less sudo)."""
    packages = missing_qt_packages()
    if not packages:
        return
    prefix: list[str] | None = []
    if os.geteuid() != 0:
        sudo_works = (
            shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
        )
        prefix = ["sudo", "-n"] if sudo_works else None
    if prefix is not None and shutil.which("apt-get"):
        print(f"LayerLab: installing Qt's system libraries: {' '.join(packages)}", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*prefix, "apt-get", "update", "-qq"], env=env, check=False)
        if subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", *packages], env=env).returncode == 0:
            return
    print(
        "LayerLab: the window needs system libraries that are missing: "
        f"{' '.join(packages)}\n  install them with:  sudo apt-get install {' '.join(packages)}",
        file=sys.stderr,
    )


def check_shape(python: Path) -> int:
    """ruff (lint and format) and import-linter's contracts (pyproject.toml): the first that fails
    says why and ends the check (its exit status)."""
    scripts = python.parent
    for name, command in (
        ("ruff check", [str(python), "-m", "ruff", "check", "."]),
        ("ruff format --check", [str(python), "-m", "ruff", "format", "--check", "."]),
        ("import contracts", [str(scripts / ("lint-imports.exe" if os.name == "nt" else "lint-imports"))]),
    ):
        status = subprocess.call(command, cwd=ROOT)
        if status:
            print(f"LayerLab: {name} failed (see above)", file=sys.stderr)
            return status
    return 0


def parallel() -> list[str]:
    """pytest-xdist's options for the whole suite: one worker per core (at most 4: each holds its own
    TensorFlow); a test file's tests stay on one worker (a file's fixtures, often a model trained
    once for the file, are not paid twice). Most tests spend their
    time in Python and in TensorFlow's start-up, not in both cores at once, so a second worker
    shortens the suite."""
    workers = min(os.cpu_count() or 1, 4)
    return ["-n", str(workers), "--dist", "loadfile"] if workers > 1 else []


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "app"
    rest = argv[1:]
    if command == "app":
        python = ensure_env("test")
        ensure_qt_libraries()
        return subprocess.call([str(python), "-m", "gui.app", *rest], cwd=ROOT)
    if command == "test":
        python = ensure_env("test")
        if not rest:  # the whole suite: the code's shape first (seconds), then the tests
            failed = check_shape(python)
            if failed:
                return failed
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2")
        return subprocess.call([str(python), "-m", "pytest", *(rest or parallel())], cwd=ROOT, env=env)
    if command == "check":  # only the shape: lint, format, import contracts
        return check_shape(ensure_env("test"))
    if command == "cli":
        python = ensure_env("test")
        return subprocess.call([str(python), "-m", "engine.cli", *rest], cwd=ROOT)
    if command == "api-docs":  # docs/engine-api.md from the engine's public API (engine/api.py)
        python = ensure_env("test")
        code = "from engine.api import reference; open('docs/engine-api.md', 'w', encoding='utf-8').write(reference())"
        return subprocess.call([str(python), "-c", code], cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if command == "bench":  # all at full size, or those named; --smoke: toy sizes; --report: docs/benchmarks.md
        python = ensure_env("test")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
        return subprocess.call([str(python), "-m", "benchmarks", *rest], cwd=ROOT, env=env)
    print(f"usage: python3 dev.py app|test|check|cli|bench|api-docs [args...]  (got {command!r})", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
