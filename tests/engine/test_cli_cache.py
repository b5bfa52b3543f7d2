"""layerlab-cli and the disk caches: `cache [--clear] [--json]`, `--memory-budget`, progress lines
while a folder is decoded, and files found unreadable while decoding reported with the others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    """`layerlab-cli` in its own process, with this test's LAYERLAB_HOME (set by conftest)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )


def folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for label, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / label).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(0, 20, (30, 40, 3)) + colour, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.jpg")
    whole = (root / "red" / "5.jpg").read_bytes()
    (root / "red" / "5.jpg").write_bytes(whole[: len(whole) * 2 // 3])  # its header is fine; its data is not
    return root


@pytest.mark.slow
def test_train_reports_decoding_then_cache_lists_and_clears(tmp_path: Path) -> None:
    data = folder(tmp_path / "colours")
    done = cli(
        "train",
        "--dataset",
        f"folder:{data}",
        "--image-size",
        "16",
        "--arch",
        "mlp",
        "--epochs",
        "1",
        "--memory-budget",
        "64",
        "--out",
        str(tmp_path / "run"),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert "decoding images: 24/24" in done.stderr
    assert "skipped 1 file(s) that are not readable images while decoding: 5.jpg" in done.stderr
    assert [Path(s["path"]).name for s in json.loads(done.stdout)["skipped_files"]] == ["5.jpg"]

    listed = cli("cache", "--json")
    assert listed.returncode == 0, listed.stderr
    usage = {c["kind"]: c for c in json.loads(listed.stdout)["caches"]}
    assert usage["images"]["entries"] == 23 and usage["images"]["bytes"] >= 23 * 16 * 16 * 3
    assert Path(json.loads(listed.stdout)["root"]) == Path(os.environ["LAYERLAB_HOME"]) / "cache"
    text = cli("cache")
    assert text.returncode == 0 and "23 images" in text.stdout and "feature sets" in text.stdout

    cleared = cli("cache", "--clear", "--json")
    document = json.loads(cleared.stdout)
    assert cleared.returncode == 0 and document["freed_bytes"] >= usage["images"]["bytes"]
    assert all(c["bytes"] == 0 and c["entries"] == 0 for c in document["caches"])
    assert "freed" in cli("cache", "--clear").stdout


def test_a_bad_memory_budget_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = cli("train", "--dataset", "digits", "--memory-budget", "-5", "--epochs", "1")
    assert done.returncode == 2 and "--memory-budget" in done.stderr and len(done.stderr.strip().splitlines()) == 1
