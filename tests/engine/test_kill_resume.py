"""A real `layerlab-cli train` killed with SIGKILL in the middle of an epoch resumes
with `layerlab-cli train --resume` to its planned epochs, with a continuous history, and ends
where the uninterrupted run ends (within noise; on one CPU, exactly)."""

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
WAIT_S = 180
TRAIN = ["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "8", "--batch-size", "8"]


def _lines_of(stream, into: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        into.put(raw.decode("utf-8", errors="replace").rstrip("\n"))
    into.put(None)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        preexec_fn=limit_memory,
    )


def kill_during_epoch(run: Path, epoch: int, train: list[str] = TRAIN) -> list[str]:
    """Start a training of 8 epochs (`train`: the command line) and SIGKILL it as soon as it has
    reported `epoch` (1-based) finished: it is then inside the next epoch."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *train, "--out", str(run)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=limit_memory,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines_of, args=(proc.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while not (seen and seen[-1].startswith(f"epoch {epoch}/8")):
            line = lines.get(timeout=WAIT_S)
            assert line is not None, f"the training ended before epoch {epoch}: {seen}"
            seen.append(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    return seen


@pytest.mark.slow
def test_a_killed_training_resumes_to_the_planned_epochs_and_ends_like_the_uninterrupted_one(tmp_path: Path) -> None:
    run = tmp_path / "run"
    kill_during_epoch(run, 3)
    before = json.loads((run / "history.json").read_text())
    assert len(before) >= 3 and not (run / "metrics.json").exists(), "killed, not stopped"
    kept = sorted(p.name for p in (run / "checkpoints").glob("epoch-*.npz"))
    assert kept, "a checkpoint was written before the kill"

    resumed = cli("train", "--resume", str(run), "--json")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Traceback" not in resumed.stderr
    assert "resuming at epoch " in resumed.stderr
    history = json.loads((run / "history.json").read_text())
    assert [e["epoch"] for e in history] == list(range(8)), "one entry per epoch, no gap, no duplicate"
    assert not any(e["partial"] for e in history)
    # The epochs before the checkpoint are the killed process's own.
    first_resumed = int(resumed.stderr.split("resuming at epoch ")[1].split("/")[0]) - 1
    assert [e["loss"] for e in history[:first_resumed]] == [e["loss"] for e in before[:first_resumed]]
    result = json.loads(resumed.stdout)
    assert result["epochs_run"] == 8 and result["run_dir"] == str(run)

    straight = cli(*TRAIN, "--out", str(tmp_path / "straight"), "--json")
    assert straight.returncode == 0, straight.stderr[-3000:]
    reference = json.loads(straight.stdout)
    assert abs(result["val_accuracy"] - reference["val_accuracy"]) <= 0.02
    assert abs(result["val_loss"] - reference["val_loss"]) <= 0.05 * reference["val_loss"]
    # No loss spike where it resumed: the optimizer went on.
    losses = [e["loss"] for e in history]
    assert losses[first_resumed] < 1.1 * losses[first_resumed - 1]
    print(
        f"resumed at epoch {first_resumed + 1}: val_accuracy {result['val_accuracy']:.4f} / uninterrupted "
        f"{reference['val_accuracy']:.4f}, val_loss {result['val_loss']:.6f} / {reference['val_loss']:.6f}"
    )
