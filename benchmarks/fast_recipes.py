"""Fast recipes against the textbook: the same architecture, the textbook accuracy, in how much time?

Per case (data × preset) and seed, side by side in this one process: the textbook recipe in plain
Keras as the tutorial wrote it (`model.fit(x, y, validation_data=(x_test, y_test))` on NumPy
arrays), the textbook recipe in LayerLab (`engine.train`), and the fast recipe in LayerLab
(`engine.training.recipes`). The textbook recipes are the lessons' own (mlp_mnist for the MLP,
naive_vs_bn_cnn for naive_cnn and bn_cnn, cifar_cnn_augmentation's arm without augmentation for
cifar_cnn) on the data that ships: scikit-learn's digits and the generated shapes, 20 % held out
as the test set, validated on it every epoch as the tutorials did (so each epoch's test accuracy is
known; nothing is tuned on it: the fast recipes were set on validation splits of other seeds).

Figures: final test accuracy (mean ± sd over seeds; the fast recipe's with test-time
augmentation), fit seconds (the epochs' own time from the first epoch's start, graph tracing in
the first epoch included, for all three), and the seconds each needs to reach the LayerLab
textbook's mean test accuracy (the first epoch at or above it; a run that never gets there counts
its whole fit, which flatters the textbook and not the fast recipe; for the fast recipe the final
test-time-augmented figure counts at the fit's end plus its evaluation time). The ratio fast ÷
textbook of those seconds is the goal (≤ 0.33, with the fast final accuracy ≥ the textbook mean).
`--variants ablation` trains the fast recipe with one trick removed (or, for steps per execution,
added) at a time.

Each case is one command of a few minutes (`--cases shapes:bn_cnn --json part.json`); `--combine
part1.json part2.json ... --json all.json` makes the tables of all the parts.

    python -m benchmarks.fast_recipes [--cases digits:mlp,...] [--seeds 0,1,2] [--variants main|ablation|all]
        [--smoke] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import Results, add_arguments

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CASES = ("digits:mlp", "digits:bn_cnn", "shapes:naive_cnn", "shapes:bn_cnn", "shapes:cifar_cnn")
#: The lesson whose recipe is the textbook for each preset.
LESSON_OF = {
    "mlp": "mlp_mnist",
    "naive_cnn": "naive_vs_bn_cnn",
    "bn_cnn": "naive_vs_bn_cnn",
    "cifar_cnn": "cifar_cnn_augmentation",
}
#: Fast recipe minus one trick: the settings put back to the textbook's (or, "+", one added).
ABLATIONS = {
    "no schedule (the textbook optimizer at its constant rate)": (
        "training.optimizer",
        "training.learning_rate",
        "schedule",
    ),
    "textbook batch size": ("training.batch_size",),
    "no label smoothing": ("training.label_smoothing",),
    "no augmentation (flips)": ("augmentation.flip",),
    "no test-time augmentation": ("training.tta",),
    "+ 8 batches per call (steps_per_execution)": ("steps_per_execution",),
}
GOAL = 0.33


# --- the configs ---------------------------------------------------------------------------------
def textbook_config(data: str, arch: str, seed: int, epochs: int | None = None) -> Any:
    """The lesson's recipe for `arch` on `data`, with 20 % held out as the test set and validated on."""
    from engine.architectures import get_architecture
    from engine.config import ExperimentConfig
    from engine.lessons.catalogue import get_lesson

    base = get_lesson(LESSON_OF[arch]).base_config.training
    preset = {f"arch.{key}": value for key, value in get_architecture(arch).defaults.items()}
    config = ExperimentConfig().updated(
        **{
            "data.name": data,
            "data.test_split": 0.2,
            "data.validation": "test",
            "arch.name": arch,
            **preset,
            "training.optimizer": base.optimizer,
            "training.learning_rate": base.learning_rate,
            "training.batch_size": base.batch_size,
            "training.epochs": epochs or base.epochs,
            "training.seed": seed,
        }
    )
    return config


def fast_config(textbook: Any, ablation: str | None = None) -> Any:
    from engine.training.recipes import apply_recipe

    fast = apply_recipe(textbook, "fast")
    if ablation is None:
        return fast
    keys = ABLATIONS[ablation]
    if keys == ("steps_per_execution",):
        return fast.updated(**{"training.steps_per_execution": 8})
    if "schedule" in keys:
        return fast.updated(
            **{
                "training.schedule": "constant",
                "training.optimizer": textbook.training.optimizer,
                "training.learning_rate": textbook.training.learning_rate,
            }
        )
    old = textbook.to_dict()
    changes = {key: old[key.split(".")[0]][key.split(".")[1]] for key in keys}
    if "augmentation.flip" in keys:
        changes["training.tta"] = False  # nothing left to mirror
    return fast.updated(**changes)


# --- the three ways to train -----------------------------------------------------------------------
def plain_keras(config: Any, dataset: Any) -> dict[str, Any]:
    """The textbook as the tutorial wrote it: NumPy arrays into `model.fit`."""
    import keras
    import numpy as np

    from engine.architectures import build_model

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.curve: list[tuple[float, float]] = []
            self.elapsed, self.t0 = 0.0, 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.elapsed += time.perf_counter() - self.t0
            self.curve.append((self.elapsed, float((logs or {}).get("val_accuracy", float("nan")))))

    t = config.training
    keras.utils.set_random_seed(t.seed)
    model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
    optimizer = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}[t.optimizer](t.learning_rate)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    clock = Clock()
    model.fit(
        dataset.x_train.astype(np.float32),
        dataset.y_train,
        batch_size=t.batch_size,
        epochs=t.epochs,
        validation_data=(dataset.x_val.astype(np.float32), dataset.y_val),
        verbose=0,
        callbacks=[clock],
    )
    return {"curve": clock.curve, "test_accuracy": clock.curve[-1][1], "fit_seconds": clock.elapsed, "extra_s": 0.0}


def layerlab(config: Any, dataset: Any) -> dict[str, Any]:
    """`engine.train`; the curve from history.json's seconds and (test-split) validation accuracy."""
    from engine.training.losses import averaged_forward, tta_flips
    from engine.training.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        result = train(config, dataset=dataset, run_dir=Path(tmp) / "run")
    if result.failed:
        raise RuntimeError(result.failed)
    curve = [(e.elapsed_seconds, e.val_accuracy) for e in result.history]
    extra = 0.0
    flips = tta_flips(config.augmentation, config.training.tta)
    if len(flips) > 1:  # what the test-time augmentation's evaluation costs, timed again here
        forward = averaged_forward(result.model, flips)
        batches = dataset.tf_dataset("validation", config.training.batch_size).map(lambda x, y: x)
        start = time.perf_counter()
        for batch in batches:
            forward(batch)
        extra = time.perf_counter() - start
    return {
        "curve": curve,
        "test_accuracy": result.metrics.test_accuracy,
        "fit_seconds": result.metrics.train_seconds,
        "extra_s": extra,
    }


# --- measuring ---------------------------------------------------------------------------------
def measure_case(
    case: str,
    seeds: list[int],
    variants: str,
    epochs: int | None,
    only: tuple[str, ...] = (),
    tricks: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every run of `case` for each seed: `variants` "main" (the three ways), "ablation" (the fast
    recipe with one trick removed or added at a time) or "all"; `only`: of the three ways, these
    ("plain", "textbook", "fast"), so that a long case fits pieces of a few minutes; `tricks`: of
    the ablation, only the rows whose name holds one of these words."""
    from engine.datasets import load_dataset

    data, arch = case.split(":")
    records = []
    for seed in seeds:
        textbook = textbook_config(data, arch, seed, epochs)
        dataset = load_dataset(textbook.data, seed=seed)
        runs: list[tuple[str, Any, Any]] = []
        if variants in ("main", "all"):
            ways = {
                "plain": ("textbook, plain Keras", plain_keras, textbook),
                "textbook": ("textbook, LayerLab", layerlab, textbook),
                "fast": ("fast, LayerLab", layerlab, fast_config(textbook)),
            }
            runs += [way for name, way in ways.items() if not only or name in only]
        if variants in ("ablation", "all"):
            names = [name for name in ABLATIONS if not tricks or any(word in name for word in tricks)]
            runs += [
                (f"fast − {name}" if not name.startswith("+") else f"fast {name}", layerlab, None) for name in names
            ]
        for variant, how, config in runs:
            if config is None:
                name = variant.removeprefix("fast − ").removeprefix("fast ")
                config = fast_config(textbook, name)
                if config == fast_config(textbook):  # the trick is not used on this data (no flips on digits)
                    continue
            figures = how(config, dataset)
            record = {"case": case, "variant": variant, "seed": seed, "epochs": config.training.epochs, **figures}
            records.append(record)
            print(
                f"{case} seed {seed} {variant}: test accuracy {figures['test_accuracy']:.4f}, "
                f"fit {figures['fit_seconds']:.2f} s",
                flush=True,
            )
    return records


def time_to(record: dict[str, Any], target: float) -> tuple[float, bool]:
    """Seconds until the run's test accuracy first reached `target` (its whole fit, False, if never;
    the final test-time-augmented figure counts at the fit's end plus its evaluation)."""
    for seconds, accuracy in record["curve"]:
        if accuracy is not None and accuracy >= target - 1e-9:
            return seconds, True
    if record["test_accuracy"] is not None and record["test_accuracy"] >= target - 1e-9:
        return record["fit_seconds"] + record["extra_s"], True
    return record["fit_seconds"], False


def _mean_sd(values: list[float]) -> str:
    if len(values) < 2:
        return f"{statistics.mean(values):.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def tables(results: Results, records: list[dict[str, Any]]) -> None:
    """The main table (three ways per case) and the ablation, from the raw records."""
    cases = list(dict.fromkeys(r["case"] for r in records))
    main, ablation = [], []
    for case in cases:
        mine = [r for r in records if r["case"] == case]
        textbook = [r for r in records if r["case"] == case and r["variant"] == "textbook, LayerLab"]
        if not textbook:
            continue
        target = statistics.mean(r["test_accuracy"] for r in textbook)
        textbook_time = statistics.mean(time_to(r, target)[0] for r in textbook)
        for variant in dict.fromkeys(r["variant"] for r in mine):
            runs = [r for r in mine if r["variant"] == variant]
            accuracy = [r["test_accuracy"] for r in runs]
            times = [time_to(r, target) for r in runs]
            reached = sum(ok for _, ok in times)
            seconds = statistics.mean(t for t, _ in times)
            ratio = seconds / textbook_time if textbook_time else float("nan")
            row = [
                case,
                variant,
                runs[0]["epochs"],
                _mean_sd(accuracy),
                round(statistics.mean(r["fit_seconds"] for r in runs), 2),
                round(statistics.mean(r["curve"][0][0] for r in runs), 2),
                f"{seconds:.2f} ({reached}/{len(runs)})",
                round(ratio, 3),
            ]
            if variant.startswith("fast ") and variant != "fast, LayerLab":
                seeds = {r["seed"] for r in runs}
                same = [r for r in mine if r["variant"] == "fast, LayerLab" and r["seed"] in seeds]
                if same:  # against the full fast recipe on the same seeds
                    row.append(f"{statistics.mean(accuracy) - statistics.mean(r['test_accuracy'] for r in same):+.4f}")
                    fit = statistics.mean(r["fit_seconds"] for r in runs)
                    row.append(f"{fit - statistics.mean(r['fit_seconds'] for r in same):+.2f}")
                else:
                    row += ["", ""]
                ablation.append(row)
                continue
            if variant == "fast, LayerLab":
                met = ratio <= GOAL and statistics.mean(accuracy) >= target
                row.append("✓" if met else "✗")
                results.figure(f"{case}:ratio", round(ratio, 3))
                results.figure(f"{case}:fast_accuracy", round(statistics.mean(accuracy), 4))
                results.figure(f"{case}:textbook_accuracy", round(target, 4))
            else:
                row.append("")
            main.append(row)
    columns = [
        "case",
        "recipe",
        "epochs",
        "test accuracy",
        "fit s",
        "1st epoch s",
        "s to textbook mean (reached)",
        "÷ textbook",
    ]
    results.table("Fast against textbook", [*columns, "goal ≤ 0.33"], main)
    if ablation:
        results.table(
            "Ablation: the fast recipe with one trick removed (or added)",
            [*columns, "Δ accuracy vs fast (same seeds)", "Δ fit s"],
            ablation,
        )
    for table in results.tables:
        print("\n| " + " | ".join(table["columns"]) + " |")
        print("|" + "---|" * len(table["columns"]))
        for row in table["rows"]:
            print("| " + " | ".join(str(cell) for cell in row) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--cases", default=",".join(CASES), help="data:preset pairs, comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated")
    parser.add_argument(
        "--variants",
        choices=("main", "ablation", "all"),
        default="main",
        help="main: textbook in plain Keras and in LayerLab, fast in LayerLab; ablation: the fast recipe with one "
        "trick removed (or added) at a time; all: both",
    )
    parser.add_argument(
        "--only", default="", help="of the three ways, only these: plain,textbook,fast (pieces of a long case)"
    )
    parser.add_argument(
        "--tricks", default="", help="ablation: only the rows naming one of these words (comma-separated)"
    )
    parser.add_argument("--combine", nargs="+", type=Path, metavar="PART", help="make the tables of these parts")
    args = parser.parse_args(argv)
    results = Results("fast_recipes", "Fast recipes against the textbook", smoke=args.smoke)
    if args.combine:
        records = []
        for part in args.combine:
            document = json.loads(part.read_text(encoding="utf-8"))
            records += document["settings"]["records"]
            results.smoke = results.smoke or document["smoke"]
    else:
        cases = ["digits:mlp"] if args.smoke else args.cases.split(",")
        seeds = [0] if args.smoke else [int(s) for s in args.seeds.split(",")]
        records = []
        for case in cases:
            only = tuple(name for name in args.only.split(",") if name)
            variants = "all" if args.smoke else args.variants
            tricks = tuple(word for word in args.tricks.split(",") if word)
            records += measure_case(case, seeds, variants, 2 if args.smoke else None, only, tricks)
    results.settings = {
        "cases": list(dict.fromkeys(r["case"] for r in records)),
        "seeds": sorted({r["seed"] for r in records}),
        "goal": GOAL,
        "records": records,
    }
    tables(results, records)
    results.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
