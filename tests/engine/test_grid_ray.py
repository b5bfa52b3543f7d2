"""Grids on an executor: the choice from words, the runs shown one after another whatever the
executor, run folders sent home whole, and real grids on a real local Ray instance (127.0.0.1, 2
CPUs): equal to the same grid in this process, a killed worker retried, a stopped grid resumed here."""

from __future__ import annotations

import io
import json
import os
import signal
import tarfile
from pathlib import Path

import pytest

from engine.cli import main
from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import ConfigError, RunError
from engine.core.events import EpochEnd, Failed, Finished, Started
from engine.experiments import executor_choice
from engine.experiments.executor_choice import check_cluster_address, grid_executor
from engine.experiments.executors import InProcess, RunOutcome, Worker
from engine.experiments.grid import (
    GridFinished,
    GridInFlight,
    GridRowUpdated,
    GridRunRetried,
    GridRunStarted,
    GridSpec,
    parse_vary,
)
from engine.experiments.grid_runner import run_grid
from engine.experiments.ray_executor import RayExecutor, placement
from engine.experiments.run_transfer import pack_run, unpack_run
from tests.ray_local import local_ray

ray_instance = pytest.fixture(scope="module")(local_ray)


# --- choosing where ------------------------------------------------------------------------------
def test_the_executor_from_words() -> None:
    assert isinstance(grid_executor("local"), InProcess) and isinstance(grid_executor(""), InProcess)
    on_ray = grid_executor("ray", 3)
    assert isinstance(on_ray, RayExecutor) and (on_ray.address, on_ray.workers) == (None, 3)
    assert grid_executor("ray://10.0.0.5:10001").address == "ray://10.0.0.5:10001"
    assert check_cluster_address("ray://head-node.lab:10001") == "ray://head-node.lab:10001"


@pytest.mark.parametrize(
    "where, workers, words",
    [
        ("nope", None, "write local, ray or ray://HOST:PORT, not 'nope'"),
        ("ray://head", None, "looks like ray://HOST:PORT"),
        ("ray://head:99999", None, "looks like ray://HOST:PORT"),
        ("http://head:10001", None, "write local, ray or ray://HOST:PORT"),
        ("ray", 0, "between 1 and 1024"),
        ("local", 4, "--workers needs --executor ray"),
    ],
)
def test_a_bad_choice_is_one_line(where: str, workers: int | None, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        grid_executor(where, workers)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_without_ray_choosing_ray_says_to_install_the_extra(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(executor_choice, "ray_installed", lambda: False)
    with pytest.raises(ConfigError, match=r"pip install 'layerlab\[ray\]'"):
        grid_executor("ray")
    assert main(["grid", "--vary", "arch.dropout=0,0.5", "--executor", "ray"]) == 2
    assert "needs Ray, which is not installed" in capsys.readouterr().err


def test_the_placement_follows_cores_gpus_and_memory() -> None:
    cpu_only = placement(16, 0, None, 2**30, 16, 64 * 2**30)
    assert (cpu_only.workers, cpu_only.threads, cpu_only.gpus, cpu_only.memory) == (16, 1, 0.0, 2**30)
    assert placement(16, 0, 4, None, 16, 0).threads == 4
    gpus = placement(32, 4, None, 4 * 2**30, 32, 2 * 2**30)
    assert (gpus.workers, gpus.threads, gpus.gpus, gpus.memory) == (4, 8, 1.0, 2 * 2**30)  # capped by the node
    assert placement(32, 2, 8, None, 32, 0).gpus == 0.25  # more runs than GPUs: a share each
    assert placement(64, 0, 2, None, 8, 0).threads == 8  # no more threads than one machine has


# --- runs come home whole ---------------------------------------------------------------------------
def test_a_packed_run_unpacks_whole_into_a_reserved_folder(tmp_path: Path) -> None:
    run = tmp_path / "worker" / "20260101-000000-digits-mlp"
    (run / "checkpoints").mkdir(parents=True)
    (run / "history.json").write_text("[]")
    (run / "checkpoints" / "epoch-00001.npz").write_bytes(os.urandom(5000))
    reserved = tmp_path / "home" / run.name
    reserved.mkdir(parents=True)
    assert unpack_run(pack_run(run), reserved) == reserved
    assert (reserved / "checkpoints" / "epoch-00001.npz").read_bytes() == (
        run / "checkpoints" / "epoch-00001.npz"
    ).read_bytes()
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [run.name]  # no temporary left


def test_an_archive_that_leaves_its_folder_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(RunError, match="outside its folder"):
        unpack_run(buffer.getvalue(), tmp_path / "runs" / "r")
    assert list((tmp_path / "runs").iterdir()) == [] and not (tmp_path / "escaped.txt").exists()


# --- one run after another, whatever the executor ------------------------------------------------------
class Interleaved:
    """An executor that reports two runs as Ray would: both begin, their events interleave, the
    second ends first, the first's worker is lost once."""

    def describe(self) -> str:
        return "interleaved"

    def run(self, jobs, report, cancel, *, runs_root, train_kwargs) -> None:
        first, second = jobs
        report.begun(first, Worker("a", 1))
        report.begun(second, Worker("b", 2))
        report.event(first, Started("r0", 1, 1, 1, 1, "CPU", 1, 1, False))
        report.event(second, Started("r1", 1, 1, 1, 1, "CPU", 1, 1, False))
        report.event(second, Failed("no data", "data", "r1"))
        report.ended(second, RunOutcome("failed", None, reason="no data"))
        report.begun(first, Worker("c", 3, attempt=2))
        report.event(first, Started("r0", 1, 1, 1, 1, "CPU", 1, 1, False))
        report.ended(first, RunOutcome("failed", None, reason="lost twice"))


def test_interleaved_runs_reach_the_observer_one_after_another(tmp_path: Path) -> None:
    spec = GridSpec(ExperimentConfig(), (parse_vary("arch.dropout=0,0.5"),))
    events: list = []
    result = run_grid(spec, events.append, CancelToken(), grid_dir=tmp_path / "g", executor=Interleaved())
    what = {"GridRunStarted": "index", "GridRunRetried": "index", "Started": "run_dir", "Failed": "reason"}
    shown = [
        (type(e).__name__, getattr(e, what[type(e).__name__]))
        for e in events
        if not isinstance(e, GridInFlight | GridRowUpdated | GridFinished)
    ]
    assert shown == [
        ("GridRunStarted", 0),
        ("Started", "r0"),
        ("GridRunRetried", 0),
        ("GridRunStarted", 0),
        ("Started", "r0"),
        ("Failed", "lost twice"),  # a lost worker sends no Failed: the runner says why
        ("GridRunStarted", 1),
        ("Started", "r1"),
        ("Failed", "no data"),  # its own, held while the first run was in view; not said twice
    ]
    assert [e.runs for e in events if isinstance(e, GridInFlight)][:2] == [(0,), (0, 1)]
    assert result.failed_runs == 2 and not result.cancelled


# --- real grids on a real local Ray instance -------------------------------------------------------------
def tiny(**changes) -> ExperimentConfig:
    settings = {
        "data.limit": 100,
        "training.epochs": 2,
        "training.batch_size": 32,
        "training.seed": 7,
        "training.deterministic": True,
    }
    return ExperimentConfig().updated(**(settings | changes))


def segments(events: list) -> dict[int, list]:
    """Each run's events, cut at its `GridRunStarted` (the stream shows one run after another)."""
    runs: dict[int, list] = {}
    current = None
    for event in events:
        if isinstance(event, GridRunStarted):
            current = event.index
            runs.setdefault(current, []).append(event)
        elif current is not None and not isinstance(event, GridInFlight | GridRowUpdated | GridFinished):
            runs[current].append(event)
    return runs


def run_files(run_dir: str) -> dict[str, object]:
    """What a run folder holds, timings left out: its files' names, config and history."""
    root = Path(run_dir)
    timings = ("seconds", "elapsed_seconds")
    history = [
        {k: v for k, v in e.items() if k not in timings} for e in json.loads((root / "history.json").read_text())
    ]
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    return {"files": files, "config": json.loads((root / "config.json").read_text()), "history": history}


@pytest.mark.slow
def test_a_grid_on_ray_equals_the_same_grid_in_this_process(ray_instance, tmp_path: Path) -> None:
    spec = GridSpec(tiny(), (parse_vary("arch.dropout=0,0.5"),), repeats=2)
    events: list = []
    on_ray = run_grid(spec, events.append, CancelToken(), runs_root=tmp_path / "ray", executor=RayExecutor(workers=2))
    assert not on_ray.cancelled and on_ray.failed_runs == 0
    assert max(len(e.runs) for e in events if isinstance(e, GridInFlight)) == 2  # two at once
    runs = segments(events)
    assert sorted(runs) == [0, 1, 2, 3]
    for index, shown in runs.items():
        start, started, finished = shown[0], shown[1], shown[-1]
        assert start.host and start.pid != os.getpid() and start.attempt == 1
        assert isinstance(started, Started) and isinstance(finished, Finished)
        assert started.run_dir == finished.run_dir and Path(finished.run_dir).parent == tmp_path / "ray"
        assert [e.epoch for e in shown if isinstance(e, EpochEnd)] == [0, 1], index
    assert not [p for p in (tmp_path / "ray").iterdir() if p.name.startswith(".")]  # no temporary left

    here = run_grid(spec, lambda e: None, CancelToken(), runs_root=tmp_path / "here")
    for ray_row, here_row in zip(on_ray.rows, here.rows):
        assert [run_files(d) for d in ray_row.run_dirs] == [run_files(d) for d in here_row.run_dirs]
        assert (ray_row.val_accuracy_mean, ray_row.val_accuracy_std) == (
            here_row.val_accuracy_mean,
            here_row.val_accuracy_std,
        )
        assert ray_row.significantly_worse_than_best == here_row.significantly_worse_than_best
    assert "ood.npz" in run_files(on_ray.rows[0].run_dirs[0])["files"]
    assert any(f.startswith("checkpoints/") for f in run_files(on_ray.rows[0].run_dirs[0])["files"])


class Killer:
    """The observer: kills the worker of each run listed in `kills`, at that attempt's first epoch."""

    def __init__(self, kills: dict[int, int]) -> None:
        self.kills = kills  # run index -> how many of its attempts to kill
        self.events: list = []
        self.current: GridRunStarted | None = None
        self.killed: list[tuple[int, int]] = []

    def __call__(self, event) -> None:
        self.events.append(event)
        if isinstance(event, GridRunStarted):
            self.current = event
        elif isinstance(event, EpochEnd) and self.current is not None:
            run = self.current
            if run.attempt <= self.kills.get(run.index, 0) and (run.index, run.attempt) not in self.killed:
                self.killed.append((run.index, run.attempt))
                os.kill(run.pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_killed_worker_is_retried_once_then_its_run_fails_and_the_grid_goes_on(ray_instance, tmp_path: Path) -> None:
    spec = GridSpec(tiny(**{"training.epochs": 6, "data.limit": 300}), (parse_vary("arch.dropout=0,0.5"),))
    killer = Killer({0: 1, 1: 2})  # the first run's worker is killed once, the second's twice
    result = run_grid(
        spec,
        killer,
        CancelToken(),
        grid_dir=tmp_path / "g",
        runs_root=tmp_path / "runs",
        executor=RayExecutor(workers=1),
    )
    assert killer.killed == [(0, 1), (1, 1), (1, 2)]
    retried = [(e.index, e.attempt) for e in killer.events if isinstance(e, GridRunRetried)]
    assert retried == [(0, 2), (1, 2)]
    pids = [(e.index, e.pid) for e in killer.events if isinstance(e, GridRunStarted)]
    assert [index for index, _ in pids] == [0, 0, 1, 1] and pids[0][1] != pids[1][1] and pids[2][1] != pids[3][1]
    assert result.failed_runs == 1 and not result.cancelled
    record = json.loads((tmp_path / "g" / "grid.json").read_text())["runs"]
    assert [(r["cell"], r["status"]) for r in record] == [(0, "done"), (1, "failed")]
    assert "died mid-run, twice" in record[1]["reason"] and record[1]["run_dir"] is None
    assert "died mid-run, twice" in [e for e in killer.events if isinstance(e, Failed)][-1].reason
    assert len(result.rows[0].run_dirs) == 1 and result.rows[1].run_dirs == []
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [Path(result.rows[0].run_dirs[0]).name]


@pytest.mark.slow
def test_a_grid_stopped_on_ray_resumes_in_this_process(ray_instance, tmp_path: Path) -> None:
    spec = GridSpec(tiny(**{"training.epochs": 4}), (parse_vary("arch.dropout=0,0.5"),), repeats=2)
    cancel = CancelToken()

    def stop_at_the_first_row(event) -> None:
        if isinstance(event, GridRowUpdated):
            cancel.cancel()

    grid_dir, runs_root = tmp_path / "g", tmp_path / "runs"
    stopped = run_grid(
        spec, stop_at_the_first_row, cancel, grid_dir=grid_dir, runs_root=runs_root, executor=RayExecutor(workers=2)
    )
    assert stopped.cancelled
    record = json.loads((grid_dir / "grid.json").read_text())["runs"]
    done = [r for r in record if r["status"] == "done"]
    assert 1 <= len(done) < 4 and {r["status"] for r in record} <= {"done", "cancelled"}
    for r in record:
        if r["status"] == "cancelled" and r["run_dir"]:  # a stopped run comes home saved, as in this process
            assert (Path(r["run_dir"]) / "model.keras").is_file()
    assert not [p for p in runs_root.iterdir() if not any(p.iterdir())]  # no reserved folder left empty

    events: list = []
    resumed = run_grid(spec, events.append, CancelToken(), grid_dir=grid_dir, runs_root=runs_root)
    assert not resumed.cancelled and [len(row.run_dirs) for row in resumed.rows] == [2, 2]
    done_before = {(r["cell"], r["repeat"]) for r in done}
    again = [(e.cell, e.repeat) for e in events if isinstance(e, GridRunStarted)]
    assert len(again) == 4 - len(done_before) and not set(again) & done_before


@pytest.mark.slow
def test_the_cli_runs_a_grid_on_ray(ray_instance, tmp_path: Path, capsys) -> None:
    grid_dir = tmp_path / "grid"
    args = ["grid", "--dataset", "digits", "--arch", "mlp", "--limit", "100", "--batch-size", "32", "--epochs", "1"]
    code = main(
        [*args, "--vary", "arch.dropout=0,0.5", "--repeats", "2", "--grid-dir", str(grid_dir)]
        + ["--executor", "ray", "--workers", "2", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["grid_dir"] == str(grid_dir) and [len(row["run_dirs"]) for row in data["rows"]] == [2, 2]
    assert "grid: training on this machine's own Ray instance, 2 runs at once" in err
    assert err.count("grid run ") == 4 and "(pid " in err
