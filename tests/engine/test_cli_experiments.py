"""Experiments on the command line: `layerlab-cli compare` and `layerlab-cli grid` (JSON contracts,
tables, one-line refusals, and a grid stopped by SIGINT that resumes from its folder)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.cli import main
from engine.config import ExperimentConfig

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 180
ROW_KEYS = {
    "settings",
    "run_dirs",
    "val_accuracy_mean",
    "val_accuracy_std",
    "test_accuracy_mean",
    "test_accuracy_std",
    "seconds_mean",
    "significantly_worse_than_best",
}
GRID = ["grid", "--dataset", "digits", "--arch", "mlp", "--limit", "100", "--batch-size", "16"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> list[Path]:
    pytest.importorskip("tensorflow")
    from engine.training.trainer import train

    root = tmp_path_factory.mktemp("compare")
    base = {"data.limit": 100, "training.epochs": 2, "training.batch_size": 32}
    paths = []
    for name, dropout in (("with", True), ("without", False)):
        result = train(ExperimentConfig().updated(**base, **{"arch.dropout": dropout}), run_dir=root / name)
        assert result.failed is None, result.failed
        paths.append(root / name)
    return paths


def test_cli_compare_json_has_exactly_the_promised_keys(capsys, two_runs: list[Path]) -> None:
    code = main(["compare", *map(str, two_runs), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"runs", "differences"}
    assert [set(row) for row in data["runs"]] == [
        {
            "run_dir",
            "label",
            "val_accuracy",
            "val_loss",
            "test_accuracy",
            "test_loss",
            "epochs_run",
            "seconds",
            "train_seconds",
            "trainable_params",
        }
    ] * 2
    assert data["differences"] == {"arch.dropout": [0.5, 0.0]}
    assert [row["label"] for row in data["runs"]] == ["dropout 0.5", "dropout off"]
    assert main(["compare", *map(str, two_runs)]) == 0
    table = capsys.readouterr().out
    assert "dropout 0.5" in table and "dropout off" in table and "arch.dropout: 0.5 | 0.0" in table


def test_cli_compare_needs_two_readable_runs(capsys, two_runs: list[Path], tmp_path: Path) -> None:
    assert main(["compare", str(two_runs[0])]) == 2
    assert "two or more" in capsys.readouterr().err
    assert main(["compare", str(two_runs[0]), str(tmp_path / "gone")]) == 2
    err = capsys.readouterr().err
    assert "gone" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args, words",
    [
        (["grid", "--epochs", "1"], "at least one --vary"),
        (["grid", "--vary", "arch.dropuot=0,1"], "unknown setting 'arch.dropuot'"),
        (["grid", "--vary", "arch.dropout=0,0.5", "--vary", "arch.dropout=0.2"], "given twice"),
        (["grid", "--vary", "arch.dropout=0,0.5", "--repeats", "0"], "--repeats"),
        (["grid", "--vary", "data.validation=test"], "digits has no test split"),
    ],
)
def test_cli_grid_refuses_a_bad_grid_before_training(capsys, args: list[str], words: str) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.slow
def test_cli_grid_json_is_one_object_with_the_promised_keys(tmp_path: Path) -> None:
    env = dict(os.environ, LAYERLAB_HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            *GRID,
            "--epochs",
            "1",
            "--vary",
            "arch.dropout=0,0.5",
            "--vary",
            "arch.batchnorm=on,off",
            "--repeats",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert set(data) == {"grid_dir", "rows"} and Path(data["grid_dir"]).parent == tmp_path / "home" / "grids"
    assert [row["settings"] for row in data["rows"]] == [
        {"arch.dropout": 0.0, "arch.batchnorm": True},
        {"arch.dropout": 0.0, "arch.batchnorm": False},
        {"arch.dropout": 0.5, "arch.batchnorm": True},
        {"arch.dropout": 0.5, "arch.batchnorm": False},
    ]
    for row in data["rows"]:
        assert set(row) == ROW_KEYS and len(row["run_dirs"]) == 2
        assert row["test_accuracy_mean"] is None and isinstance(row["significantly_worse_than_best"], bool)
        assert all(Path(d).parent == tmp_path / "home" / "runs" for d in row["run_dirs"])
    assert "grid run 8/8: dropout 0.5 · bn off, repeat 2/2" in proc.stderr
    assert "Traceback" not in proc.stderr and "retracing" not in proc.stderr


def _lines_of(stream, into: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        into.put(raw.decode("utf-8", errors="replace").rstrip("\n"))
    into.put(None)


@pytest.mark.slow
def test_sigint_stops_the_grid_and_the_grid_folder_resumes_it(tmp_path: Path, capsys) -> None:
    grid_dir = tmp_path / "grid"
    env = dict(os.environ, LAYERLAB_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            *GRID,
            "--epochs",
            "4",
            "--vary",
            "arch.dropout=0,0.5",
            "--repeats",
            "2",
            "--grid-dir",
            str(grid_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_lines_of, args=(proc.stderr, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    second_run_trains = False
    try:
        while not second_run_trains:  # stop during the second run's epochs
            line = lines.get(timeout=WAIT_S)
            assert line is not None, f"the grid ended before its second run: {seen}"
            seen.append(line)
            second_run_trains = line.startswith("epoch 1/4") and any(s.startswith("grid run 2/4") for s in seen)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=WAIT_S)
        out = proc.stdout.read().decode()
        proc.stdout.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(WAIT_S)
    while (line := lines.get(timeout=WAIT_S)) is not None:
        seen.append(line)
    stderr = "\n".join(seen)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert seen[-1].startswith("layerlab-cli: grid stopped by SIGINT") and f"--grid-dir {grid_dir}" in seen[-1]
    assert f"grid folder: {grid_dir}" in out
    runs = json.loads((grid_dir / "grid.json").read_text())["runs"]
    assert runs[0]["status"] == "done" and [r["status"] for r in runs[1:]] in (["cancelled"], ["done"])
    first_run = runs[0]["run_dir"]

    resumed = subprocess.run(
        [sys.executable, "-m", "engine.cli", "grid", "--grid-dir", str(grid_dir), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env=env,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = json.loads(resumed.stdout)["rows"]
    assert [len(row["run_dirs"]) for row in rows] == [2, 2] and rows[0]["run_dirs"][0] == first_run
    done_before = sum(r["status"] == "done" for r in runs)
    assert resumed.stderr.count("grid run ") == 4 - done_before
    other = main(
        [*GRID, "--epochs", "4", "--vary", "arch.dropout=0,0.25", "--repeats", "2", "--grid-dir", str(grid_dir)]
    )
    assert other == 2 and "holds another grid (different factors)" in capsys.readouterr().err
