"""Shared fixtures for engine tests: tiny data, temporary runs folders, no network."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs and Keras caches of tests go to temporary folders, never the user's."""
    home = tmp_path_factory.mktemp("layerlab_home")
    monkeypatch.setenv("LAYERLAB_HOME", str(home))
