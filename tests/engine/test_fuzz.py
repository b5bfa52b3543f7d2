"""A seeded fuzz run (tests/fuzz.py) of mutated PNG, JPEG, GIF, .npz, run JSON files and
.keras archives, in a subprocess under a memory limit and a timeout: only LayerLab's own errors,
one line each, no crash, no NumPy warning, nothing slow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.corpus import limit_memory

ROOT = Path(__file__).resolve().parents[2]


def test_mutated_files_give_only_layerlab_errors() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--seed", "0", "--per-target", "100", "--models", "40"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_memory,
    )
    assert proc.returncode == 0, f"the fuzzed process died ({proc.returncode}): {proc.stderr[-3000:]}"
    assert proc.stderr == "", proc.stderr[-3000:]  # no warning, no TensorFlow noise either
    summary = json.loads(proc.stdout)
    assert summary["failures"] == []
    assert sum(summary["cases"].values()) == 540
    assert {"png", "jpeg", "gif", "npz/bytes", "npz/member", "run/history.json", "model/config"} <= set(
        summary["cases"]
    )
    assert summary["used"]["png"] > 10 and summary["used"]["jpeg"] > 10  # the mutations do reach the decoders
    assert summary["slowest_s"] < 5 and summary["seconds"] < 30
