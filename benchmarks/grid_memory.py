"""Memory over a grid of runs: the process's resident memory after 2 and after 20 runs of one grid.

A grid trains its runs one after another in one process (the window's training worker, or
`layerlab-cli grid`); each run builds a new model, compiles new train/eval functions and loads its
data. One ablation grid of small runs (digits, `mlp`, batch 32; factors `training.learning_rate` ×
N/2 and `arch.batchnorm` on/off, through `run_grid`); the process's resident memory is read from
`/proc/self/statm` after each finished run. `run_grid` drops each finished run's model and clears
the Keras session between runs, and `train` makes TensorFlow forget the custom-gradient functions
its optimizer registered (engine/runtime/graphs.py). Each variant runs in a fresh process: the
grid as LayerLab runs it, and for comparison the same grid without clearing the Keras session, and
without the gradient-registry cleanup. Goal: memory after 20 runs within ~10 % of memory after 2.

    python -m benchmarks.grid_memory [--runs 20] [--epochs 2] [--limit 400] [--variant NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks.results import Results, add_arguments, settings_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
TITLE = "Memory over a grid of runs"
GOAL = 0.10
VARIANTS = {
    "layerlab": "LayerLab: Keras session cleared between runs, gradient registry cleaned",
    "keep_session": "without `clear_session` between runs",
    "keep_gradients": "without the gradient-registry cleanup (`clear_session` alone)",
}

DISCUSSION = """Clearing the Keras session alone does not stop the growth: Keras's TensorFlow optimizer
sums the gradients through `ReplicaContext.all_reduce` (also under the default strategy), which
wraps them in `tf.custom_gradient`; in graph mode that registers a gradient function under a new
name in TensorFlow's global gradient registry at every trace and never removes it, and the
function's closure holds the whole traced train step. Every `train` forgets the names it
registered (`engine/runtime/graphs.py`; the functions are only needed to differentiate through the
all-reduce, which nothing does), which also stops the window from growing by a train-step graph per
training. The figures per run alternate by a few MiB (batch normalisation on/off)."""


def rss_mib() -> float:
    """Resident set size of this process now (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@contextlib.contextmanager
def variant_of_grid(variant: str) -> Iterator[None]:
    """LayerLab's grid as it is, or with one of its clean-ups taken out (put back on leaving)."""
    from engine.experiments import executors
    from engine.training import trainer

    saved = (executors.release_keras_state, trainer.forget_custom_gradients)
    if variant == "keep_session":  # the run's references are dropped, but Keras's global state is kept
        executors.release_keras_state = lambda: None
    elif variant == "keep_gradients":
        trainer.forget_custom_gradients = contextlib.nullcontext
    try:
        yield
    finally:
        executors.release_keras_state, trainer.forget_custom_gradients = saved


def one_grid(runs: int, epochs: int, limit: int, variant: str) -> dict:
    """Run a grid of `runs` runs in this process; RSS after each finished run."""
    from engine.config import ExperimentConfig
    from engine.core.cancel import CancelToken
    from engine.experiments.grid import GridFinished, GridRunStarted, GridSpec, factor
    from engine.experiments.grid_runner import run_grid

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

    with tempfile.TemporaryDirectory() as tmp, variant_of_grid(variant):
        result = run_grid(spec, observer, CancelToken(), grid_dir=Path(tmp) / "grid", runs_root=Path(tmp) / "runs")
    assert not result.failed_runs and not result.cancelled
    return {"variant": variant, "runs": len(after), "rss_after_run_mib": [round(v, 1) for v in after]}


def measure_in_subprocess(runs: int, epochs: int, limit: int, variants: Sequence[str]) -> list[dict]:
    """The variants' grids, one after another in one fresh process (one variant each, to measure)."""
    args = [sys.executable, "-m", "benchmarks.grid_memory", "--child", "--runs", str(runs), "--epochs", str(epochs)]
    args += ["--limit", str(limit), *(f"--variant={variant}" for variant in variants)]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"the grid's process failed ({out.returncode}): {out.stderr.strip()[-2000:]}")
    return [json.loads(line) for line in out.stdout.strip().splitlines()[-len(variants) :]]


def main(argv: Sequence[str] | None = None) -> int:
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
    args = add_arguments(parser).parse_args(argv)
    if args.child:
        for variant in args.variant:
            print(json.dumps(one_grid(args.runs, args.epochs, args.limit, variant)), flush=True)
        return 0
    variants = args.variant or list(VARIANTS)
    if args.smoke:  # the variants share one process: at this size their memory means nothing
        args.runs, args.epochs, args.limit = 2, 1, 64
        measured = measure_in_subprocess(args.runs, args.epochs, args.limit, variants)
    else:
        measured = [measure_in_subprocess(args.runs, args.epochs, args.limit, [v])[0] for v in variants]
    results = Results("grid_memory", TITLE, smoke=args.smoke, settings=settings_of(args, "child"))
    rows, growths = [], {}
    for data in measured:
        after = data["rss_after_run_mib"]
        two, last = after[1], after[-1]
        growth = growths[data["variant"]] = last / two - 1
        name = VARIANTS[data["variant"]]
        results.figure(
            f"{data['variant']}: growth from run 2 to run {len(after)}",
            growth,
            f"{name}: after 2 runs {two:.0f} MiB, after {len(after)} runs {last:.0f} MiB ({growth:+.1%}); "
            f"per run: {', '.join(f'{v:.0f}' for v in after)}",
        )
        results.figure(f"{data['variant']}: MiB after each run", after)
        rows.append([name, two, last, f"{growth:+.1%}"])
    results.table(
        f"resident memory (MiB) of a grid of {args.runs} runs in one process",
        ["variant", "after 2 runs", f"after {args.runs} runs", "change"],
        rows,
        show=True,
    )
    if "layerlab" in growths:
        growth = growths["layerlab"]
        verdict = "met" if growth <= GOAL else "missed"
        results.note(f"Goal, LayerLab's grid within {GOAL:.0%} after {args.runs} runs: {growth:+.1%}, {verdict}.")
    results.write(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
