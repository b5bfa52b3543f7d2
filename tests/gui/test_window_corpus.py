"""Hostile input through the window: every bad file dropped, dataset opened or run opened ends in normal
use or in one clear line, the window survives them all and closes at once. The window runs in
its own process under an address-space limit (tests/gui/window_corpus.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import OK, Case, limit_memory, matches

ROOT = Path(__file__).resolve().parents[2]
WINDOW_MEMORY_LIMIT = 8 * 2**30  # TensorFlow maps about 3 GiB, Qt and the corpus the rest


@pytest.mark.slow
def test_the_whole_corpus_through_the_window(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.gui.window_corpus", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=600,
        preexec_fn=lambda: limit_memory(WINDOW_MEMORY_LIMIT),
    )
    stdout = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    entries = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    families = {entry["family"] for entry in entries}
    assert {"images", "npz", "degenerate", "folders", "runs", "quit"} <= families, families
    wrong = []
    for entry in entries:
        case = Case(Path(entry["id"]), entry["expect"])
        if entry["expect"] == OK:
            if not entry["used"]:
                wrong.append(f"{entry['family']}/{entry['id']}: expected normal use, got {entry['said']!r}")
        elif entry["used"] or not matches(case, entry["said"]) or "Traceback" in entry["said"]:
            wrong.append(f"{entry['family']}/{entry['id']}: expected {entry['expect']!r}, got {entry['said']!r}")
    assert not wrong, "\n".join(wrong)
    assert len(entries) > 80
