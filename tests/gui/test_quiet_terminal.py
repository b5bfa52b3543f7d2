"""`layerlab` started from a terminal prints nothing on a normal start, a training and quitting, on a
machine without a GPU: TensorFlow's start-up lines go to the log file, and nothing retraces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What a person does: start LayerLab (gui.app.main, the `layerlab` command), train on digits, quit.
DRIVER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import gui.app

    app = gui.app.create_application([])

    def window():
        return next(w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow")

    def train_when_ready():
        w = window()
        if not (w.session.engine.ready and w.session.data.status == "ready"):
            QTimer.singleShot(100, train_when_ready)
            return
        w.training.finished.connect(lambda result: QTimer.singleShot(500, w.close))
        w.run_bar.train.click()

    def start():
        w = window()
        config = w.session.config.config.updated(**{
            "data.name": "digits", "data.limit": 200, "arch.name": "mlp",
            "training.epochs": 2, "training.batch_size": 32,
        })
        w.session.config.replace(config)
        train_when_ready()

    QTimer.singleShot(0, start)
    sys.exit(gui.app.main([]))
    """
)


@pytest.mark.slow
def test_layerlab_prints_nothing_on_start_training_and_quit(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "QT_QPA"))}
    env.update(LAYERLAB_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", DRIVER]
    if shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x720x24", *command]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "" and done.stderr == "", (done.stdout + done.stderr)[-3000:]
    log = (tmp_path / "home" / "logs" / "layerlab.log").read_text(errors="replace")
    assert "window opened" in log and "engine loaded" in log  # what the terminal did not show is logged
