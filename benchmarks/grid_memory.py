"""Grid memory: the process's resident memory after 2 and after 20 runs of one ablation grid.

A grid trains its runs one after another in one process (the window's training worker, or
`layerlab-cli grid`); each run builds a new model, compiles new train/eval functions and loads
its data. `run_grid` drops each finished run's model and clears the Keras session between runs,
and `train` makes TensorFlow forget the custom-gradient functions its optimizer registered
(engine/runtime/graphs.py); the goal is memory after 20 runs within ~10 % of memory after
2. Each variant runs in a fresh process: the grid as LayerLab runs it, and for comparison the same
grid without clearing the Keras session (`keep_session`), and without the gradient-registry
cleanup (`keep_gradients`).

    python -m benchmarks.grid_memory [--runs 20] [--epochs 2] [--limit 400] [--variant NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "layerlab": "LayerLab's grid (clear_session between runs, gradient registry cleaned)",
    "keep_session": "without clear_session between runs",
    "keep_gradients": "without the gradient-registry cleanup",
}


def rss_mib() -> float:
    """Resident set size of this process now (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def one_grid(runs: int, epochs: int, limit: int, variant: str) -> dict:
    """Run a grid of `runs` runs in this process; RSS after each finished run."""
    import contextlib

    from engine.config import ExperimentConfig
    from engine.core.cancel import CancelToken
    from engine.experiments import executors
    from engine.experiments.grid import GridFinished, GridRunStarted, GridSpec, factor
    from engine.experiments.grid_runner import run_grid
    from engine.training import trainer

    if variant == "keep_session":  # the run's references are dropped, but Keras's global state is kept
        executors.release_keras_state = lambda: None
    elif variant == "keep_gradients":
        trainer.forget_custom_gradients = contextlib.nullcontext

    rates = [round(0.001 * (1 + i), 4) for i in range(runs // 2)]
    spec = GridSpec(
        ExperimentConfig().updated(
            **{"arch.name": "mlp", "data.limit": limit, "training.epochs": epochs, "training.batch_size": 32}
        ),
        (factor("training.learning_rate", rates), factor("arch.batchnorm", [True, False])),
    )
    after: list[float] = []

    def observer(event) -> None:
        if isinstance(event, (GridRunStarted, GridFinished)) and (isinstance(event, GridFinished) or event.index > 0):
            after.append(rss_mib())  # the previous run is finished and released

    with tempfile.TemporaryDirectory() as tmp:
        result = run_grid(spec, observer, CancelToken(), grid_dir=Path(tmp) / "grid", runs_root=Path(tmp) / "runs")
    assert not result.failed_runs and not result.cancelled
    return {"variant": variant, "runs": len(after), "rss_after_run_mib": [round(v, 1) for v in after]}


def measure_in_subprocess(runs: int, epochs: int, limit: int, variant: str) -> dict:
    args = [
        sys.executable,
        "-m",
        "benchmarks.grid_memory",
        "--child",
        "--runs",
        str(runs),
        "--epochs",
        str(epochs),
        "--limit",
        str(limit),
        "--variant",
        variant,
    ]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument(
        "--variant",
        choices=list(VARIANTS),
        action="append",
        help="measure only these (default: all, each in a fresh process)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_grid(args.runs, args.epochs, args.limit, args.variant[0])), flush=True)
        return []
    results = []
    for variant in args.variant or list(VARIANTS):
        data = measure_in_subprocess(args.runs, args.epochs, args.limit, variant)
        after = data["rss_after_run_mib"]
        two, last = after[1], after[-1]
        data.update(after_2_mib=two, after_last_mib=last, growth=round(last / two - 1, 4))
        results.append(data)
        print(
            f"{VARIANTS[variant]}: after 2 runs {two:.0f} MiB, after {len(after)} runs {last:.0f} MiB "
            f"({data['growth']:+.1%}); per run: {', '.join(f'{v:.0f}' for v in after)}",
            flush=True,
        )
    return results


if __name__ == "__main__":
    main()
