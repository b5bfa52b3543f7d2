"""The engine's public API: every name resolves, `import engine` stays cheap, and
docs/engine-api.md is what engine/api.py generates (a test fails when it is out of date)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import engine
from engine import api

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_name_resolves_and_is_listed_once() -> None:
    names = [public for _, _, entries in api.SECTIONS for public, _, _ in entries]
    assert len(names) == len(set(names)), "a name is listed twice"
    assert set(engine.__all__) == set(names) | {"__version__"}
    for name in ("ExperimentConfig", "train", "Classifier", "run_grid", "task_supports"):
        assert getattr(engine, name) is api.resolve(name)


def test_importing_engine_and_its_cheap_names_loads_no_tensorflow() -> None:
    code = (
        "import sys, engine\n"
        "from engine import ExperimentConfig, LayerLabError, load_dataset, list_runs, task_supports, open_image\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, 'PySide6' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False False False"


def test_the_api_reference_is_generated_from_the_api() -> None:
    written = (ROOT / "docs" / "engine-api.md").read_text(encoding="utf-8")
    assert written == api.reference(), "docs/engine-api.md is out of date: run `python3 dev.py api-docs`"
