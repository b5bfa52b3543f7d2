"""Grid executors: wall time of one 8-run grid in this process against the same grid on a local Ray
instance, side by side in one run, with the speed-up the placement expects.

The grid: digits (all 1 797 images), `mlp`, 2 factors × 2 levels × 2 repeats = 8 runs. In this
process the runs train one after another, each with TensorFlow's threads over every core; on Ray
`--workers` runs train at once (default: one per core), each in its own worker process with
cores / workers threads. The expected speed-up is min(cores / threads per run, GPUs or runs)
where TensorFlow keeps every core busy; small models keep one core busy for less than that, so
more runs at once win more than the formula. The Ray figure is measured twice: the whole call
(starting the instance and each worker's TensorFlow: what one `layerlab-cli grid --executor ray`
pays) and the grid alone on an instance already running (what a long grid pays per run).

    python -m benchmarks.grid_executors [--epochs 6] [--workers N] [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from benchmarks.results import Results, add_arguments

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def grid_spec(epochs: int, limit: int | None):
    from engine.config import ExperimentConfig
    from engine.experiments.grid import GridSpec, parse_vary

    base = ExperimentConfig().updated(
        **{"arch.name": "mlp", "data.limit": limit, "training.epochs": epochs, "training.batch_size": 32}
    )
    return GridSpec(base, (parse_vary("arch.dropout=0,0.5"), parse_vary("arch.batchnorm=on,off")), repeats=2)


def timed_grid(spec, executor, root: Path) -> float:
    from engine.core.cancel import CancelToken
    from engine.experiments.grid_runner import run_grid

    start = time.perf_counter()
    result = run_grid(spec, lambda event: None, CancelToken(), runs_root=root, executor=executor)
    seconds = time.perf_counter() - start
    assert not result.failed_runs and not result.cancelled, result
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--workers", type=int, default=None, help="runs at once on Ray (default: one per core)")
    args = parser.parse_args(argv)
    from engine.experiments.executors import InProcess
    from engine.experiments.ray_executor import RayExecutor, connected, placement

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    epochs, limit = (1, 200) if args.smoke else (args.epochs, None)
    spec = grid_spec(epochs, limit)
    plan = placement(cores, 0, args.workers, None, cores, 0)
    expected = min(cores / plan.threads, 8, plan.workers)
    results = Results("grid_executors", "Grid executors: in this process vs a local Ray instance", smoke=args.smoke)
    results.settings.update(
        {
            "runs": 8,
            "dataset": "digits" + (f" (limit {limit})" if limit else " (1 797 images)"),
            "arch": "mlp",
            "epochs": epochs,
            "batch_size": 32,
            "cores": cores,
            "ray_workers": plan.workers,
            "threads_per_run_on_ray": plan.threads,
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        here = timed_grid(spec, InProcess(), Path(tmp) / "here")
        results.figure("in_process_s", round(here, 2), f"in this process: {here:.1f} s for 8 runs")
        ray_whole = timed_grid(spec, RayExecutor(workers=plan.workers), Path(tmp) / "ray")
        results.figure(
            "ray_whole_call_s", round(ray_whole, 2), f"local Ray, whole call (instance started): {ray_whole:.1f} s"
        )
        with connected(None) as ray:
            logging.getLogger("ray").setLevel(logging.WARNING)
            ray.get([ray.remote(num_cpus=plan.threads)(_warm).remote() for _ in range(plan.workers)])
            ray_warm = timed_grid(spec, RayExecutor(workers=plan.workers), Path(tmp) / "ray_warm")
    results.figure("ray_running_instance_s", round(ray_warm, 2), f"local Ray, instance running: {ray_warm:.1f} s")
    results.figure("speedup_whole_call", round(here / ray_whole, 2), f"speed-up, whole call: {here / ray_whole:.2f}×")
    results.figure(
        "speedup_running_instance", round(here / ray_warm, 2), f"speed-up, instance running: {here / ray_warm:.2f}×"
    )
    results.figure(
        "expected_speedup", round(expected, 2), f"expected: min(cores / threads per run, runs) = {expected:g}×"
    )
    results.table(
        "8-run grid (digits, mlp)",
        ["executor", "runs at once", "threads per run", "wall time (s)", "speed-up"],
        [
            ["in this process", 1, cores, round(here, 1), "1.00×"],
            ["local Ray, whole call", plan.workers, plan.threads, round(ray_whole, 1), f"{here / ray_whole:.2f}×"],
            ["local Ray, instance running", plan.workers, plan.threads, round(ray_warm, 1), f"{here / ray_warm:.2f}×"],
        ],
    )
    results.note(
        "expected scaling: runs in parallel = min(cores / threads per run, GPUs); on a GPU machine one run per GPU, "
        "so N GPUs give up to N× where the data pipeline keeps each busy"
    )
    results.write(args.json)
    return 0


def _warm() -> None:
    """Import TensorFlow in a worker, so the measured grid finds its workers ready."""
    import tensorflow  # noqa: F401


if __name__ == "__main__":
    raise SystemExit(main())
