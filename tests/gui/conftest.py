"""GUI tests: offscreen Qt, temporary settings and runs, waiting on signals (never on sleeps)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shiboken6
from PIL import Image

ENGINE_TIMEOUT_MS = 120_000
TRAIN_TIMEOUT_MS = 120_000


@pytest.fixture(autouse=True)
def layerlab_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings (settings.ini) and runs of each test live in its own temporary folder."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("LAYERLAB_HOME", str(home))
    return home


@pytest.fixture
def make_window(qtbot: Any, layerlab_home: Path) -> Iterator[Any]:
    """Build windows that are closed (training stopped, workers joined) at teardown."""
    from gui.app import create_application
    from gui.main_window import MainWindow

    create_application([])
    windows: list[Any] = []

    def make(**changes: Any) -> Any:
        window = MainWindow(runs_root=layerlab_home / "runs")
        qtbot.addWidget(window)
        if changes:
            window.session.config.replace(window.session.config.config.updated(**changes))
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        if not shiboken6.isValid(window):  # closed and deleted by the test itself
            continue
        window.close()  # during a training: it stops it, saves the run, then closes
        qtbot.waitUntil(lambda w=window: not shiboken6.isValid(w) or not w.isVisible(), timeout=TRAIN_TIMEOUT_MS)
        assert not window.training.busy


@pytest.fixture
def window(make_window: Any, qtbot: Any) -> Any:
    """A window on digits + mlp with a small, fast training setup, engine loaded, table shown."""
    w = make_window(
        **{
            "data.name": "digits",
            "data.limit": 300,
            "arch.name": "mlp",
            "training.epochs": 2,
            "training.batch_size": 32,
        }
    )
    wait_ready(qtbot, w)
    return w


def wait_ready(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: window.session.engine.status != "loading", timeout=ENGINE_TIMEOUT_MS)
    assert window.session.engine.ready, window.session.engine.error
    wait_table(qtbot, window)


def wait_table(qtbot: Any, window: Any, timeout: int = 60_000) -> None:
    """Until the dataset is loaded and the layer table shows the current config's model."""
    qtbot.waitUntil(
        lambda: (
            window.session.data.status == "ready"
            and not window.data.busy
            and window.session.model.status == "ready"
            and not window.inspect.busy
        ),
        timeout=timeout,
    )


@pytest.fixture
def digit_png(tmp_path: Path) -> Path:
    """A real PNG: a light digit-like stroke on a dark background."""
    image = np.zeros((64, 64), np.uint8)
    image[10:54, 28:36] = 255
    path = tmp_path / "one.png"
    Image.fromarray(image, "L").save(path)
    return path


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder trained by the engine on a little digits data (once per session)."""
    from engine.config import ExperimentConfig
    from engine.training.trainer import train

    config = ExperimentConfig().updated(**{"data.name": "digits", "data.limit": 200, "training.epochs": 1})
    result = train(config, runs_root=tmp_path_factory.mktemp("session_runs"))
    assert result.failed is None, result.failed
    return Path(result.run_dir)
