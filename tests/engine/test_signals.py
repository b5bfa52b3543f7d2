"""Ctrl+C (SIGINT) or SIGTERM in a real `layerlab-cli train` stops it like the
window's Stop button: the model, metrics and history so far are saved, then the process exits
with 128 + the signal's number and one line saying so."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.corpus import limit_memory

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 120


def _lines_of(stream, into: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        into.put(raw.decode("utf-8", errors="replace").rstrip("\n"))
    into.put(None)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_training_and_keeps_the_run(tmp_path: Path, signum: signal.Signals) -> None:
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "train",
            "--dataset",
            "digits",
            "--arch",
            "mlp",
            "--epochs",
            "500",
            "--batch-size",
            "8",
            "--out",
            str(run),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=limit_memory,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_lines_of, args=(proc.stderr, lines), daemon=True)
    reader.start()
    seen = []
    try:
        while not (seen and seen[-1] is not None and seen[-1].startswith("epoch 1/500")):
            seen.append(lines.get(timeout=WAIT_S))
            assert seen[-1] is not None, f"the process ended before its first epoch: {seen}"
        proc.send_signal(signum)
        proc.wait(timeout=WAIT_S)  # stderr belongs to the reader thread; stdout holds one short line
        out = proc.stdout.read()
        proc.stdout.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(WAIT_S)
    while (line := lines.get(timeout=WAIT_S)) is not None:
        seen.append(line)
    stderr = "\n".join(seen)
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert seen[-1].startswith(f"layerlab-cli: stopped by {signum.name} after ") and str(run) in seen[-1], stderr
    assert b"val_accuracy" in out

    from engine.runs.folders import load_run

    saved = load_run(run)
    model = saved.load_model()  # Keras safe mode, checked against preprocess.json
    assert model.outputs[0].shape[-1] == 10
    metrics = json.loads((run / "metrics.json").read_text())
    history = json.loads((run / "history.json").read_text())
    assert metrics["cancelled"] is True and metrics["epochs_run"] == len(history) >= 1
    assert len(history) < 500 and history[-1]["partial"] is True
    assert not [p for p in run.iterdir() if p.name.startswith(".")], "temporary files left behind"
