"""Scale: a folder of N photos, LayerLab's `train` against a plain Keras script, side by side.

Generates a folder of N synthetic photo-like JPEGs (two classes, sizes around 500×375) once, then
runs each case as a child process of this one, one at a time, and reads each child's peak resident
memory from the kernel (`os.wait4`: the whole process, every thread, TensorFlow included):

- "decode": LayerLab loads the folder and decodes it into its (empty) image cache; then one pass
  reads it back from the cache. Its time is the first run's decode time.
- "plain": `keras.utils.image_dataset_from_directory` (validation split 0.2, 224 px, batch 32,
  prefetch) and a frozen MobileNetV2 (weights none) + the same head as LayerLab's, `fit` for
  1 epoch, then (another process) for E epochs.
- "layerlab": `engine.training.train` on the same folder and model (the engine in a child
  process; default feature cache and memory budget), caches emptied first: 1 epoch, then E epochs.
  The 1-epoch runs alternate with the plain ones (`--pairs`), so a change in the machine's load
  hits both; the first-epoch figure is the median of the per-pair ratios.
- "layerlab, second run": the E-epoch run again on the same folder, caches warm.

Wall times are from the child's start (Python and TensorFlow imports included) to the end of
its epoch. The second run's "time to training" is the data work before its first batch: loading
the folder (listing, a `stat` per file, the cache's index) plus reading the features back; the
goal compares it with the first run's decode time. Both leave out Python's module imports.

    python -m benchmarks.scale                    # N = 300: a quick look
    python -m benchmarks.scale --n 5000 25000     # the figures in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
WORK = Path("/tmp/layerlab-scale")
CLASSES = ("cat", "dog")
IMAGE_SIZE = 224
BATCH = 32
VAL_SPLIT = 0.2
GOAL_RSS_GB = {5000: 2.0, 25000: 3.0}


# --- the photos -------------------------------------------------------------------------------------
def photo_folder(n: int, work: Path) -> Path:
    """N photo-like JPEGs (made once, kept between invocations until cleaned)."""
    folder = work / f"photos-{n}"
    done = folder / ".complete"
    if done.is_file():
        return folder
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    shutil.rmtree(folder, ignore_errors=True)
    rng = np.random.default_rng(n)
    started = time.perf_counter()
    for i in range(n):
        label = CLASSES[i % len(CLASSES)]
        width, height = int(rng.normal(500, 40)), int(rng.normal(375, 30))
        # Smooth colour fields (a blurred low-resolution random image), shapes, grain: it
        # compresses and decodes like a photograph, unlike flat colour or pure noise.
        field = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize((width, height), Image.BICUBIC)
        draw = ImageDraw.Draw(field)
        for _ in range(int(rng.integers(3, 8))):
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            r = int(rng.integers(20, 120))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if label == "cat" else draw.rectangle)([x - r, y - r, x + r, y + r], fill=colour)
        field = field.filter(ImageFilter.GaussianBlur(1.5))
        grain = rng.normal(0, 8, (height, width, 3))
        pixels = np.clip(np.asarray(field, np.float32) + grain, 0, 255).astype(np.uint8)
        path = folder / label / f"{label}.{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=int(rng.integers(75, 92)))
        if (i + 1) % 1000 == 0:
            print(f"  generated {i + 1}/{n} photos ({time.perf_counter() - started:.0f} s)", flush=True)
    done.write_text(str(n))
    return folder


# --- children ---------------------------------------------------------------------------------------
def child_plain(folder: Path, epochs: int) -> dict:
    """The textbook script: image_dataset_from_directory + frozen MobileNetV2 + head, `fit`."""
    import keras
    import tensorflow as tf

    marks: dict = {"imported": time.time()}
    keras.utils.set_random_seed(0)
    train, val = keras.utils.image_dataset_from_directory(
        folder, validation_split=VAL_SPLIT, subset="both", seed=0, image_size=(IMAGE_SIZE, IMAGE_SIZE), batch_size=BATCH
    )
    train, val = train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    base = keras.applications.MobileNetV2(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), include_top=False, weights=None)
    base.trainable = False
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)  # MobileNetV2's preprocess_input
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    marks["built"] = time.time()
    epoch_ends: list[float] = []
    history = model.fit(
        train,
        validation_data=val,
        epochs=epochs,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epoch_ends.append(time.time()))],
    )
    return {"marks": marks, "epoch_ends": epoch_ends, "val_accuracy": history.history["val_accuracy"][-1]}


def _import_loaders() -> None:
    """The modules a folder load needs (scikit-learn's splitter, Pillow): a window has them loaded
    already; their import time is Python's, not the data's, so no "loaded" mark counts it."""
    import sklearn.model_selection  # noqa: F401

    import engine.datasets.folder  # noqa: F401


def child_layerlab(folder: Path, epochs: int, run_dir: Path) -> dict:
    """`engine.training.train` on the folder, every event's time recorded."""
    from engine.config import ExperimentConfig
    from engine.datasets import load_dataset

    _import_loaders()
    marks: dict = {"imported": time.time()}

    config = ExperimentConfig().updated(
        **{
            "data.name": f"folder:{folder}",
            "data.image_size": IMAGE_SIZE,
            "data.val_split": VAL_SPLIT,
            "arch.name": "mobilenet_v2",
            "arch.weights": "none",
            "training.epochs": epochs,
            "training.batch_size": BATCH,
        }
    )
    dataset = load_dataset(config.data, seed=0)
    marks["loaded"] = time.time()
    from engine.caches.features import FeatureCache
    from engine.core.events import BatchEnd, EpochEnd, Preparing, Started
    from engine.training.trainer import train

    marks["engine_imported"] = time.time()
    epoch_ends: list[float] = []
    stages: dict = {}

    def observer(event) -> None:
        now = time.time()
        if isinstance(event, Started):
            marks.setdefault("started", now)
        elif isinstance(event, Preparing):
            stage = stages.setdefault(event.stage, {"first": now})
            stage.update(
                last=now,
                done=event.done,
                total=event.total,
                decoded=event.decoded,
                seconds=event.seconds,
                from_cache=event.from_cache,
            )
        elif isinstance(event, BatchEnd):
            marks.setdefault("first_batch", now)
        elif isinstance(event, EpochEnd):
            epoch_ends.append(now)

    result = train(config, observer, dataset=dataset, run_dir=run_dir, feature_cache=FeatureCache.default())
    assert result.failed is None, result.failed
    return {
        "marks": marks,
        "epoch_ends": epoch_ends,
        "stages": stages,
        "val_accuracy": result.metrics.val_accuracy,
        "feature_cache": result.feature_cache_used,
        "skipped": len(dataset.skipped),
    }


def child_decode(folder: Path) -> dict:
    """LayerLab's first-run decode of the folder into an empty image cache, then a pass reading it back."""
    from engine.config import DataOptions
    from engine.datasets import load_dataset

    _import_loaders()
    marks: dict = {"imported": time.time()}
    dataset = load_dataset(DataOptions(name=f"folder:{folder}", image_size=IMAGE_SIZE, val_split=VAL_SPLIT), seed=0)
    marks["loaded"] = time.time()
    assert dataset.prepare() is True, "the image cache could not hold the folder"
    marks["decoded"] = time.time()
    images = sum(len(batch.labels) for split in ("train", "validation") for batch in dataset.batches(split, 256))
    marks["read_back"] = time.time()
    return {"marks": marks, "images": images, "skipped": len(dataset.skipped)}


def run_child(kind: str, folder: Path, epochs: int, work: Path, log) -> dict:
    """One case in its own process: its report, its wall time and its peak resident memory."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.scale",
        "--child",
        kind,
        "--folder",
        str(folder),
        "--epochs",
        str(epochs),
        "--work",
        str(work),
    ]
    env = dict(os.environ, LAYERLAB_HOME=str(work / "home"), TF_CPP_MIN_LOG_LEVEL="2")
    started = time.time()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{kind} failed ({process.returncode}); see {log.name}")
    report = json.loads(output.strip().splitlines()[-1])
    report.update(
        kind=kind,
        epochs=epochs,
        started=started,
        wall_s=time.time() - started,
        peak_rss_gb=usage.ru_maxrss * 1024 / 1e9,
        load_after=os.getloadavg()[1],
    )
    return report


# --- the comparison ---------------------------------------------------------------------------------
def clear_caches(work: Path) -> None:
    shutil.rmtree(work / "home" / "cache", ignore_errors=True)


def measure(n: int, epochs: int, work: Path, pairs: int, plain_epochs: bool = True) -> dict:
    folder = photo_folder(n, work)
    runs: dict[str, dict] = {}
    with open(work / f"log-{n}.txt", "a") as log:

        def case(name: str, kind: str, epochs_: int, cold: bool) -> None:
            if cold:
                clear_caches(work)
            print(f"  {name} ...", flush=True)
            runs[name] = run_child(kind, folder, epochs_, work, log)
            print(f"    {summary_line(runs[name])}", flush=True)

        case("decode", "decode", 1, cold=True)
        for pair in range(pairs):
            suffix = "" if pair == 0 else f"_{pair + 1}"
            case(f"plain_1{suffix}", "plain", 1, cold=True)
            case(f"layerlab_1{suffix}", "layerlab", 1, cold=True)
        if plain_epochs:
            case(f"plain_{epochs}", "plain", epochs, cold=True)
        case(f"layerlab_{epochs}", "layerlab", epochs, cold=True)
        case("layerlab_second", "layerlab", epochs, cold=False)
    return {"n": n, "epochs": epochs, "runs": runs, "figures": figures(n, epochs, runs, pairs)}


def plain_epochs_s(runs: dict, epochs: int) -> float:
    """The plain script's E epochs: measured, or (`--no-plain-epochs`, for the biggest folders)
    estimated from its 1-epoch run as start-up + E × its first epoch (data pipeline and `fit`
    included)."""
    if f"plain_{epochs}" in runs:
        return to_epoch(runs[f"plain_{epochs}"], epochs)
    run = runs["plain_1"]
    startup = run["marks"]["built"] - run["started"]
    return startup + epochs * (to_epoch(run, 1) - startup)


def to_epoch(run: dict, epoch: int) -> float:
    """Seconds from the child's start to the end of its `epoch`-th epoch (1-based)."""
    return run["epoch_ends"][epoch - 1] - run["started"]


def figures(n: int, epochs: int, runs: dict, pairs: int) -> dict:
    decode = runs["decode"]["marks"]
    second = runs["layerlab_second"]
    stages = second["stages"].get("extracting", {})
    data_s = (second["marks"]["loaded"] - second["marks"]["imported"]) + (
        stages.get("last", second["marks"]["started"]) - second["marks"]["started"]
    )
    out = {
        "load_s": decode["loaded"] - decode["imported"],  # listing, stat and header check of every file
        "decode_s": decode["decoded"] - decode["loaded"],
        "decode_rate": runs["decode"]["images"] / max(1e-9, decode["decoded"] - decode["loaded"]),
        "read_back_s": decode["read_back"] - decode["decoded"],
        "plain_1_s": to_epoch(runs["plain_1"], 1),
        "layerlab_1_s": to_epoch(runs["layerlab_1"], 1),
        "plain_e_s": plain_epochs_s(runs, epochs),
        "plain_e_measured": f"plain_{epochs}" in runs,
        "layerlab_e_s": to_epoch(runs[f"layerlab_{epochs}"], epochs),
        "second_data_s": data_s,
        "second_first_batch_s": second["marks"]["first_batch"] - second["started"],
        "second_e_s": to_epoch(second, epochs),
        "peak_rss_gb": {name: run["peak_rss_gb"] for name, run in runs.items()},
        "load_average": {name: run["load_after"] for name, run in runs.items()},
    }
    suffixes = [""] + [f"_{pair + 1}" for pair in range(1, pairs)]
    out["first_epoch_pairs"] = [
        (to_epoch(runs[f"plain_1{x}"], 1), to_epoch(runs[f"layerlab_1{x}"], 1)) for x in suffixes
    ]
    out["first_epoch_ratio"] = statistics.median(plain / ours for plain, ours in out["first_epoch_pairs"])
    stages = runs["layerlab_1"]["stages"]
    out["layerlab_1_stages"] = {stage: info["seconds"] for stage, info in stages.items()}
    out["e_epochs_speedup"] = out["plain_e_s"] / out["layerlab_e_s"]
    out["second_vs_decode"] = out["second_data_s"] / out["decode_s"]
    return out


def summary_line(run: dict) -> str:
    ends = run.get("epoch_ends") or []
    epochs = f", last epoch ended at {ends[-1] - run['started']:.1f} s" if ends else ""
    return (
        f"{run['kind']}: {run['wall_s']:.1f} s in all{epochs}, peak RSS {run['peak_rss_gb']:.2f} GB "
        f"(5-minute load average after it: {run['load_after']:.1f})"
    )


def report(result: dict) -> str:
    n, e, f = result["n"], result["epochs"], result["figures"]
    rss = f["peak_rss_gb"]
    goal_rss = GOAL_RSS_GB.get(n, 2.0)
    layerlab_peak = max(v for k, v in rss.items() if not k.startswith("plain"))

    def mark(ok: bool) -> str:
        return "met" if ok else "missed"

    lines = [
        f"N = {n}: {e} epochs, MobileNetV2 (weights none) frozen + head, {IMAGE_SIZE} px, batch {BATCH}",
        f"| run | to end of epoch 1 | to end of epoch {e} | peak RSS |",
        "|---|---|---|---|",
        f"| plain Keras | {' / '.join(f'{p:.1f}' for p, _ in f['first_epoch_pairs'])} s | {f['plain_e_s']:.1f} s"
        f"{'' if f['plain_e_measured'] else ' (estimated)'} | {rss['plain_1']:.2f} / {rss.get(f'plain_{e}', math.nan):.2f} GB |",
        f"| LayerLab | {' / '.join(f'{o:.1f}' for _, o in f['first_epoch_pairs'])} s | {f['layerlab_e_s']:.1f} s | "
        f"{rss['layerlab_1']:.2f} / {rss[f'layerlab_{e}']:.2f} GB |",
        f"| LayerLab, second run | — | {f['second_e_s']:.1f} s | {rss['layerlab_second']:.2f} GB |",
        "LayerLab's first epoch: " + ", ".join(f"{k} {v:.1f} s" for k, v in f["layerlab_1_stages"].items()),
        f"first load (list, stat, header check): {f['load_s']:.2f} s; decode into the cache: {f['decode_s']:.1f} s "
        f"({f['decode_rate']:.0f} images/s); read back from the cache: {f['read_back_s']:.1f} s; peak RSS {rss['decode']:.2f} GB",
        f"goals: peak RSS ≤ {goal_rss:g} GB: {layerlab_peak:.2f} GB, {mark(layerlab_peak <= goal_rss)}; "
        f"first epoch no slower than plain: ratio {f['first_epoch_ratio']:.2f}, {mark(f['first_epoch_ratio'] >= 1)}; "
        f"{e} epochs ≥ 3× faster: {f['e_epochs_speedup']:.2f}×, {mark(f['e_epochs_speedup'] >= 3)}; "
        f"second run's data work (load + features read back) ≤ 10 % of the decode: {f['second_data_s']:.2f} s = "
        f"{100 * f['second_vs_decode']:.1f} %, "
        f"{mark(f['second_vs_decode'] <= 0.1)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[300], help="folder sizes (the figures: 5000 25000)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=1, help="alternating plain/LayerLab 1-epoch runs")
    parser.add_argument(
        "--no-plain-epochs",
        action="store_true",
        help="skip the plain script's E-epoch run (hours at N = 25 000 here): estimate it from its first epoch",
    )
    parser.add_argument("--work", type=Path, default=WORK, help="photos, caches, runs and logs (under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the photos and caches for the next invocation")
    parser.add_argument("--child", choices=("plain", "layerlab", "decode"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child = {
            "plain": lambda: child_plain(args.folder, args.epochs),
            "layerlab": lambda: child_layerlab(
                args.folder, args.epochs, args.work / "home" / "runs" / f"run-{time.time_ns()}"
            ),
            "decode": lambda: child_decode(args.folder),
        }[args.child]
        print(json.dumps(child()), flush=True)
        return []
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for n in args.n:
            print(f"== scale: N = {n} ==", flush=True)
            result = measure(n, args.epochs, args.work, max(1, args.pairs), not args.no_plain_epochs)
            results.append(result)
            print(report(result), flush=True)
            saved = args.work.parent / f"{args.work.name}-results-{n}.json"  # outlives the cleaning below
            saved.write_text(json.dumps(result, indent=1))
            print(f"(all figures: {saved})", flush=True)
    finally:
        if not args.keep:
            clean(args.work, args.n)
    return results


def clean(work: Path, sizes: list[int]) -> None:
    """Delete what this invocation made: its photo folders, caches, runs and logs."""
    for path in [work / "home", *(work / f"photos-{n}" for n in sizes)]:
        shutil.rmtree(path, ignore_errors=True)
    for n in sizes:
        (work / f"log-{n}.txt").unlink(missing_ok=True)
    try:
        work.rmdir()
    except OSError:
        pass  # photos of other sizes kept with --keep


if __name__ == "__main__":
    main()
