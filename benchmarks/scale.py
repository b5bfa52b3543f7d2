"""Scale: a folder of N photos, LayerLab's `train` against a plain Keras script, side by side.

A folder of N synthetic photo-like JPEGs (two classes, sizes around 500×375, ~38 KB each,
generated once under `/tmp`), MobileNetV2 (weights none) frozen + the same head (GAP → Dense 256
→ Dropout → softmax) at 224 px, batch 32, validation split 0.2, trained by LayerLab's `train` and
by the textbook plain-Keras script. Each case is a child process of the benchmark, one at a time,
and each child's peak resident memory is read from the kernel (`os.wait4`: the whole process,
every thread, TensorFlow included):

- "decode": LayerLab loads the folder and decodes it into its (empty) image cache; then one pass
  reads it back from the cache. Its time is the first run's decode time.
- "plain": `keras.utils.image_dataset_from_directory` (validation split 0.2, prefetch) and the
  same model, `fit` for 1 epoch, then (another process) for E epochs.
- "LayerLab": `engine.training.train` on the same folder and model (default caches, memory
  budget and "bilinear" resample rule), caches emptied first: 1 epoch, then E epochs. The 1-epoch
  runs alternate with the plain ones (`--pairs`), so a change in the machine's load hits both; the
  first-epoch figure is the median of the per-pair ratios plain ÷ LayerLab (above 1, LayerLab is
  faster).
- "LayerLab, second run": the E-epoch run again on the same folder, caches warm.

Wall times run from the child's start (Python and TensorFlow imports included) to the end of its
epoch. The second run's "data work" is what stands between it and its first batch: loading the
folder (listing, a `stat` per file, the cache's index) plus reading the features back (module
imports left out on both sides); the goal compares it with the first run's decode time. Above
`--estimate-above` photos the plain script's E-epoch run would take hours here, so it is estimated
from its 1-epoch run (start-up + E × its first epoch) and one 1-epoch pair is run. Both models sit
at chance accuracy (random weights, synthetic classes): the runs measure time and memory, not
learning. Goals: peak RSS ≤ 2 GB at N = 5 000 (≤ 3 GB and flat beyond the budget at 25 000); first
epoch no slower than the plain script; E epochs ≥ 3× faster; the second run starts training in
≤ 10 % of the first run's decode time.

    python -m benchmarks.scale [--n 5000 25000] [--pairs 3] [--epochs 5]   # a quick look: --n 300
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.results import Results, add_arguments, settings_of

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TITLE = "Scale: a folder of photos against `image_dataset_from_directory`"

ROOT = Path(__file__).resolve().parents[1]
WORK = Path("/tmp/layerlab-scale")
CLASSES = ("cat", "dog")
IMAGE_SIZE = 224
BATCH = 32
VAL_SPLIT = 0.2
GOAL_RSS_GB = {5000: 2.0, 25000: 3.0}

DISCUSSION = """What keeps memory flat: a folder dataset holds file names, labels and cache keys (a few
hundred bytes per file), never an array of its pixels; decoding runs in a bounded pool (two
batches ahead); every inference pass — the frozen features, and the figures computed after
training — feeds at most 32 images at 224 px (`engine.core.memory.inference_batch`: bigger batches
bought no speed on a CPU and cost gigabytes); after a training on cached features the
unfamiliarity model is fitted from those features through the head, not by a second pass of the
base over the photos; the decoded images go to flat uint8 shard files, read back with positioned
reads, not `mmap` (a mapped file counts every page read in the process's RSS); features beyond the
memory budget would go to disk the same way. The peak is TensorFlow and MobileNetV2's activations,
the same as the plain script's.

What makes the second run and the later epochs fast: the image cache knows every file by path,
size, times and inode, so loading the folder again is a `stat` per file (no header check, no
decode), and the features of the frozen base are kept under a key made of its weights, the files
and the resample rule, so a second run with the same base reads them back in a fraction of a
second.

The first epoch, and why parity is where it stops on a 2-core CPU: both sides are CPU-bound on the
same cores doing the same main work, the frozen base's forward pass over every image (most of the
epoch, at the same speed on both sides). They differ in the decoding. The plain script decodes
inside `tf.data` while the base runs (`decode_jpeg` + a bilinear resize without antialiasing,
squashing the aspect), in the cycles MobileNetV2's depthwise convolutions leave idle. LayerLab
decodes by its rule for training and inference (EXIF orientation, modes, aspect kept with border
padding, an antialiased resize) before the forward passes; the "bilinear" rule (a JPEG decoded at
the reduced scale that just covers its fitted size, then one whole-factor box reduce and an
antialiased bilinear filter) costs about a third of the Lanczos rule's CPU per photo. Decoding on
the way was tried with one and two decode threads: no gain on a CPU (Pillow's threads and the
interpreter's lock take their cycles from TensorFlow's), so on a CPU LayerLab decodes first, with
both cores, then extracts; on a GPU it decodes on the way."""


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
def child_plain(folder: Path, epochs: int, size: int = IMAGE_SIZE) -> dict:
    """The textbook script: image_dataset_from_directory + frozen MobileNetV2 + head, `fit`."""
    import keras
    import tensorflow as tf

    marks: dict = {"imported": time.time()}
    keras.utils.set_random_seed(0)
    train, val = keras.utils.image_dataset_from_directory(
        folder, validation_split=VAL_SPLIT, subset="both", seed=0, image_size=(size, size), batch_size=BATCH
    )
    train, val = train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    base = keras.applications.MobileNetV2(input_shape=(size, size, 3), include_top=False, weights=None)
    base.trainable = False
    inputs = keras.Input((size, size, 3))
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


def child_layerlab(folder: Path, epochs: int, run_dir: Path, size: int = IMAGE_SIZE) -> dict:
    """`engine.training.train` on the folder, every event's time recorded."""
    from engine.config import ExperimentConfig
    from engine.datasets import load_dataset

    _import_loaders()
    marks: dict = {"imported": time.time()}

    config = ExperimentConfig().updated(
        **{
            "data.name": f"folder:{folder}",
            "data.image_size": size,
            "data.val_split": VAL_SPLIT,
            "arch.name": "mobilenet_v2",
            "arch.weights": "none",
            # The base frozen layer by layer (all but the head's two dense layers), as the plain script
            # freezes it: the preset's own "freeze the base" refuses random weights, rightly for a user.
            "arch.freeze_base": False,
            "freeze_all_but": 2,
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


def child_decode(folder: Path, size: int = IMAGE_SIZE) -> dict:
    """LayerLab's first-run decode of the folder into an empty image cache, then a pass reading it back."""
    from engine.config import DataOptions
    from engine.datasets import load_dataset

    _import_loaders()
    marks: dict = {"imported": time.time()}
    dataset = load_dataset(DataOptions(name=f"folder:{folder}", image_size=size, val_split=VAL_SPLIT), seed=0)
    marks["loaded"] = time.time()
    assert dataset.prepare() is True, "the image cache could not hold the folder"
    marks["decoded"] = time.time()
    images = sum(len(batch.labels) for split in ("train", "validation") for batch in dataset.batches(split, 256))
    marks["read_back"] = time.time()
    return {"marks": marks, "images": images, "skipped": len(dataset.skipped)}


def run_child(kind: str, folder: Path, epochs: int, work: Path, log, size: int) -> dict:
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
        "--image-size",
        str(size),
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
        kind=kind, epochs=epochs, started=started, wall_s=time.time() - started, load_after=os.getloadavg()[1]
    )
    if report.get("peak_rss_gb") is None:
        report["peak_rss_gb"] = usage.ru_maxrss * 1024 / 1e9
    return report


def own_peak_rss_gb() -> float | None:
    """This process's peak resident memory since it started its program (Linux's VmHWM): unlike
    `ru_maxrss`, it leaves out the parent's pages the process held between fork and exec, which
    count when the parent is big (a smoke run inside the benchmarks' own process)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e9
    except (OSError, ValueError, IndexError):
        pass
    return None


# --- the comparison ---------------------------------------------------------------------------------
def clear_caches(work: Path) -> None:
    shutil.rmtree(work / "home" / "cache", ignore_errors=True)


def measure(n: int, epochs: int, work: Path, pairs: int, plain_epochs: bool = True, size: int = IMAGE_SIZE) -> dict:
    """Every case for a folder of `n` photos. With one epoch, the E-epoch runs are the 1-epoch ones."""
    folder = photo_folder(n, work)
    runs: dict[str, dict] = {}
    with open(work / f"log-{n}.txt", "a") as log:

        def case(name: str, kind: str, epochs_: int, cold: bool) -> None:
            if cold:
                clear_caches(work)
            print(f"  {name} ...", flush=True)
            runs[name] = run_child(kind, folder, epochs_, work, log, size)
            print(f"    {summary_line(runs[name])}", flush=True)

        case("decode", "decode", 1, cold=True)
        for pair in range(pairs):
            suffix = "" if pair == 0 else f"_{pair + 1}"
            case(f"plain_1{suffix}", "plain", 1, cold=True)
            case(f"layerlab_1{suffix}", "layerlab", 1, cold=True)
        if plain_epochs and epochs > 1:
            case(f"plain_{epochs}", "plain", epochs, cold=True)
        if epochs > 1:
            case(f"layerlab_{epochs}", "layerlab", epochs, cold=True)
        case("layerlab_second", "layerlab", epochs, cold=False)
    return {"n": n, "epochs": epochs, "size": size, "runs": runs, "figures": figures(n, epochs, runs, pairs)}


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


def record(result: dict, results: Results) -> None:
    """One folder size's tables, figures and goals, printed as they are recorded."""
    n, e, f = result["n"], result["epochs"], result["figures"]
    rss = f["peak_rss_gb"]
    estimated = "" if f["plain_e_measured"] else " (estimated)"
    pairs = f["first_epoch_pairs"]
    layerlab_e_rss = rss.get(f"layerlab_{e}", rss["layerlab_1"])
    results.table(
        f"N = {n:,} ({n - round(n * VAL_SPLIT):,} train / {round(n * VAL_SPLIT):,} validation), {result['size']} px",
        [
            "",
            f"to end of epoch 1 ({len(pairs)} pair{'s' if len(pairs) > 1 else ''}, s)",
            f"to end of epoch {e} (s)",
            "peak RSS (1 / E epochs, GB)",
        ],
        [
            [
                "plain Keras script",
                " / ".join(f"{p:.1f}" for p, _ in pairs),
                f"{f['plain_e_s']:.1f}{estimated}",
                f"{rss['plain_1']:.2f} / {rss[f'plain_{e}']:.2f}" if f"plain_{e}" in rss else f"{rss['plain_1']:.2f}",
            ],
            [
                "LayerLab, caches empty",
                " / ".join(f"{o:.1f}" for _, o in pairs),
                f"{f['layerlab_e_s']:.1f}",
                f"{rss['layerlab_1']:.2f} / {layerlab_e_rss:.2f}",
            ],
            ["LayerLab, second run (caches warm)", "—", f"{f['second_e_s']:.1f}", f"{rss['layerlab_second']:.2f}"],
        ],
        show=True,
    )
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in f["layerlab_1_stages"].items())
    results.note(
        f"N = {n:,}: LayerLab's first epoch: {stages}. Decode alone (cold cache): {f['decode_s']:.1f} s, "
        f"{f['decode_rate']:.0f} images/s; the load before it (listing, a `stat` and a header check per file) "
        f"{f['load_s']:.2f} s; reading all {n:,} decoded images back from the cache {f['read_back_s']:.2f} s; "
        f"peak RSS of the decode-only process {rss['decode']:.2f} GB."
    )
    goal_rss = GOAL_RSS_GB.get(n, 2.0)
    peak = max(v for k, v in rss.items() if not k.startswith("plain"))

    def mark(ok: bool) -> str:
        return "met" if ok else "missed"

    ratio, speedup, second = f["first_epoch_ratio"], f["e_epochs_speedup"], f["second_vs_decode"]
    results.table(
        f"goals, N = {n:,}",
        ["goal", "figure", ""],
        [
            [f"peak RSS ≤ {goal_rss:g} GB", f"{peak:.2f} GB", mark(peak <= goal_rss)],
            [
                "first epoch no slower than the plain script",
                f"{ratio:.2f} (pairs {', '.join(f'{p / o:.2f}' for p, o in pairs)})",
                mark(ratio >= 1) if ratio < 0.98 or ratio >= 1 else "missed by < 2 %: parity",
            ],
            [f"{e} epochs ≥ 3× faster than the plain script", f"{speedup:.1f}×{estimated}", mark(speedup >= 3)],
            [
                "second run starts training in ≤ 10 % of the first run's decode time",
                f"{f['second_data_s']:.2f} s = {100 * second:.1f} % of {f['decode_s']:.1f} s",
                mark(second <= 0.1),
            ],
        ],
        show=True,
    )
    for key, value in f.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            results.figures[f"N = {n}: {key}"] = value
    for name, value in rss.items():
        results.figures[f"N = {n}: peak RSS of {name} (GB)"] = value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000, 25000], help="folder sizes (a quick look: 300)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=3, help="alternating plain/LayerLab 1-epoch runs")
    parser.add_argument(
        "--estimate-above",
        type=int,
        default=5000,
        help="bigger folders: one 1-epoch pair, the plain script's E epochs estimated from its first",
    )
    parser.add_argument(
        "--no-plain-epochs",
        action="store_true",
        help="skip the plain script's E-epoch run at every size: estimate it from its first epoch",
    )
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE)
    parser.add_argument("--work", type=Path, default=WORK, help="photos, caches, runs and logs (under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the photos and caches for the next invocation")
    parser.add_argument("--child", choices=("plain", "layerlab", "decode"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = add_arguments(parser).parse_args(argv)
    if args.child:
        child = {
            "plain": lambda: child_plain(args.folder, args.epochs, args.image_size),
            "layerlab": lambda: child_layerlab(
                args.folder, args.epochs, args.work / "home" / "runs" / f"run-{time.time_ns()}", args.image_size
            ),
            "decode": lambda: child_decode(args.folder, args.image_size),
        }[args.child]
        print(json.dumps(child() | {"peak_rss_gb": own_peak_rss_gb()}), flush=True)
        return 0
    if args.smoke:  # every child once: a handful of small photos, one epoch (the E-epoch runs are then the same)
        args.n, args.epochs, args.pairs, args.image_size, args.keep = [10], 1, 1, 32, False
        args.work = Path(tempfile.mkdtemp(prefix="layerlab-scale-smoke-"))
    results = Results("scale", TITLE, smoke=args.smoke, settings=settings_of(args, "child", "folder"))
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        for n in args.n:
            print(f"== scale: N = {n} ==", flush=True)
            big = n > args.estimate_above
            plain_epochs = not (args.no_plain_epochs or big)
            pairs = 1 if big else max(1, args.pairs)
            record(measure(n, args.epochs, args.work, pairs, plain_epochs, args.image_size), results)
    finally:
        if not args.keep:
            clean(args.work, args.n)
    results.write(args.json)
    return 0


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
    raise SystemExit(main())
