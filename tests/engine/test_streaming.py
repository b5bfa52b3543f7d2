"""Class folders stream: file lists instead of pixels, parallel decoding through a disk cache that
is reused and invalidated, unreadable files found late still skipped and listed, Stop while
decoding, and the very same inputs and accuracy as the same images held in memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.caches.images import ImageCache
from engine.config import DataOptions, ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import DatasetError
from engine.core.memory import MemoryBudget
from engine.datasets import Dataset, load_dataset
from engine.datasets.streamed import FolderDataset, ImageFiles
from engine.images.decode import open_image, to_array

SIDE = 24


def photo(path: Path, size: tuple[int, int], colour: tuple[int, int, int], seed: int, mode: str = "RGB") -> None:
    """A small noisy picture with a shape on it: each file different, each class its own colour."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(rng.normal(0, 25, (size[1], size[0], 3)) + colour, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    ImageDraw.Draw(image).ellipse([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert(mode).save(path)


def make_folder(root: Path, per_class: int = 20) -> Path:
    """Two classes of JPEGs of varied sizes, plus the odd ones the decoding rules care about."""
    for offset, (label, colour) in enumerate((("red", (190, 40, 40)), ("blue", (40, 40, 190)))):
        for i in range(per_class):
            photo(root / label / f"{label}_{i:02d}.jpg", (30 + 3 * i, 22 + (i % 5) * 4), colour, 100 * offset + i)
    photo(root / "red" / "grey.png", (20, 30), (190, 40, 40), 1, mode="L")
    photo(root / "blue" / "cmyk.jpg", (28, 20), (40, 40, 190), 2, mode="CMYK")
    frames = [Image.new("RGB", (20, 20), (200, 30, 30)), Image.new("RGB", (20, 20), (0, 255, 0))]
    frames[0].save(root / "red" / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    rotated = Image.new("RGB", (36, 18), (40, 40, 190))
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: shown rotated by 90 degrees
    rotated.save(root / "blue" / "turned.jpg", exif=exif)
    return root


def load(root: Path, size: int = SIDE) -> FolderDataset:
    return load_dataset(DataOptions(name=f"folder:{root}", image_size=size), seed=0)


def arrays_reachable(obj, seen=None) -> list[np.ndarray]:
    """Every NumPy array reachable from `obj` through attributes, lists, tuples, dicts and sets."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        children = list(obj.keys()) + list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = list(vars(obj).values())
    else:
        return []
    return [a for child in children for a in arrays_reachable(child, seen)]


def reference_dataset(folder: FolderDataset) -> Dataset:
    """The same files and split held in memory, decoded the way folders were before they streamed:
    `open_image` (a JPEG at the reduced scale of the rule), `to_array` at each image's own channel
    count by the folder's resample rule, greyscale repeated to RGB when any image is in colour."""
    rule = folder.resample

    def decode(path: str) -> np.ndarray:
        if rule == "lanczos":
            image = open_image(path, draft_size=(SIDE * 2, SIDE * 2))
        else:
            image = open_image(path, draft_size=(SIDE, SIDE), draft_fit=True)
        array = to_array(image, (SIDE, SIDE), 1 if image.mode == "L" else 3, resample=rule)
        return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array

    x_train = np.stack([decode(f.path) for f in folder.files("train")])
    x_val = np.stack([decode(f.path) for f in folder.files("validation")])
    return Dataset(
        folder.name, folder.class_names, x_train, folder.y_train, x_val, folder.y_val, val_sources=folder.val_sources
    )


# ------------------------------------------------------------------------------------------------
# Measured in a process of its own: tracemalloc counts every thread's allocations, so in the full
# suite a thread left running by an earlier test can be counted too (it failed once that way,
# 7.7 MB, and never alone).
LOAD_PEAK = """
import sys, tracemalloc
from engine.config import DataOptions
from engine.datasets import load_dataset
load = lambda root, size: load_dataset(DataOptions(name=f"folder:{root}", image_size=size), seed=0)
load(sys.argv[2], 24)                  # imports and first-use costs, not measured
tracemalloc.start()
ds = load(sys.argv[1], 64)
print(tracemalloc.get_traced_memory()[1])
"""


def test_a_folder_dataset_holds_files_not_pixels(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = make_folder(tmp_path / "pets")
    warm_up = make_folder(tmp_path / "warm-up", per_class=3)
    out = subprocess.run(
        [sys.executable, "-c", LOAD_PEAK, str(root), str(warm_up)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
    )
    assert out.returncode == 0, out.stderr
    peak = int(out.stdout.split()[-1])
    ds = load(root, size=64)
    n = sum(ds.counts().values())
    one_image = 64 * 64 * 3
    assert n == 44 and ds.input_shape == (64, 64, 3) and ds.streams
    assert peak < n * one_image / 4, f"loading allocated {peak} bytes: pixels were decoded"
    assert isinstance(ds.x_train, ImageFiles) and ds.x_train.shape == (ds.counts()["train"], 64, 64, 3)
    ds.samples(2)
    for images, _labels in ds.tf_dataset("train", 8, shuffle=True, seed=0):
        assert images.shape[1:] == (64, 64, 3)
    biggest = max((a.nbytes for a in arrays_reachable(ds)), default=0)
    assert biggest < 2 * one_image, f"the dataset holds a {biggest}-byte array"


def test_asking_for_all_pixels_beyond_the_budget_is_refused(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "pets", per_class=4)
    ds = load_dataset(DataOptions(name=f"folder:{root}", image_size=SIDE), seed=0, budget=MemoryBudget(SIDE * SIDE * 3))
    with pytest.raises(DatasetError, match="memory budget"):
        np.asarray(ds.x_train)
    assert ds.x_train[0].shape == (SIDE, SIDE, 3)  # one image at a time is fine


def test_samples_decode_only_the_thumbnails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.datasets.decoding as decoding

    root = make_folder(tmp_path / "pets", per_class=30)
    ds = load(root)
    calls: list[str] = []
    real = decoding.decode_file
    monkeypatch.setattr(
        decoding, "decode_file", lambda path, size, *rule: calls.append(path) or real(path, size, *rule)
    )
    samples = ds.samples(3)
    assert sorted(samples) == [0, 1] and all(len(v) == 3 for v in samples.values())
    assert len(calls) <= 2 * 3 * 2, f"{len(calls)} files decoded for 6 thumbnails"
    first_blue = next(f for f in ds.files("train") if f.label == 0)
    np.testing.assert_array_equal(samples[0][0], ds.x_train[ds.files("train").index(first_blue)])


def test_streamed_inputs_are_the_in_memory_pixels_and_train_identically(tmp_path: Path) -> None:
    from engine.caches.features import FeatureCache
    from engine.training.trainer import train

    folder = load(make_folder(tmp_path / "pets"))
    memory = reference_dataset(folder)
    np.testing.assert_array_equal(np.asarray(folder.x_train), memory.x_train)
    np.testing.assert_array_equal(np.asarray(folder.x_val), memory.x_val)
    streamed = np.concatenate([x.numpy() for x, _ in folder.tf_dataset("validation", 5)])
    np.testing.assert_array_equal(streamed, memory.x_val.astype(np.float32))
    config = ExperimentConfig().updated(
        **{
            "data.name": "same",
            "arch.name": "naive_cnn",
            "training.epochs": 3,
            "training.batch_size": 8,
            "training.seed": 3,
        }
    )
    on_memory = train(config, dataset=memory, run_dir=tmp_path / "memory", feature_cache=FeatureCache(disk_dir=None))
    on_folder = train(config, dataset=folder, run_dir=tmp_path / "folder", feature_cache=FeatureCache(disk_dir=None))
    assert on_memory.failed is None and on_folder.failed is None, (on_memory.failed, on_folder.failed)
    assert [e.loss for e in on_folder.history] == [e.loss for e in on_memory.history]
    assert on_folder.metrics.val_accuracy == on_memory.metrics.val_accuracy
    wrong = on_folder.metrics.misclassified
    assert [w.source for w in wrong] == [folder.val_sources[w.index] for w in wrong]


def test_the_disk_cache_is_reused_and_a_changed_file_is_decoded_again(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "pets", per_class=8)
    first = load(root)
    n = first.counts()["train"]
    decoded = sum(b.decoded for b in first.batches("train", 4))
    again = sum(b.decoded for b in first.batches("train", 4))  # the second epoch
    later = load(root)  # the second run
    pixels = {f.path: later.x_train[i] for i, f in enumerate(later.files("train"))}
    assert (decoded, again, sum(b.decoded for b in later.batches("train", 4))) == (n, 0, 0)

    touched, replaced = [Path(f.path) for f in later.files("train") if f.path.endswith(".jpg")][:2]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    photo(replaced, (40, 40), (0, 200, 0), 99)
    changed = load(root)
    assert sum(b.decoded for b in changed.batches("train", 4)) == 2
    paths = [f.path for f in changed.files("train")]
    np.testing.assert_array_equal(changed.x_train[paths.index(str(touched))], pixels[str(touched)])
    assert not np.array_equal(changed.x_train[paths.index(str(replaced))], pixels[str(replaced)])
    from engine.caches.usage import cache_usage

    images = next(u for u in cache_usage() if u.kind == "images")
    assert images.entries == n + 2 and images.bytes > 0


def test_a_cache_too_small_stores_nothing_and_streaming_still_works(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "pets", per_class=6)
    ds = load_dataset(
        DataOptions(name=f"folder:{root}", image_size=SIDE),
        seed=0,
        image_cache=ImageCache(tmp_path / "tiny", limit_bytes=SIDE * SIDE * 3 * 2),
    )
    assert ds.prepare() is False  # would not fit: epochs decode as they go
    assert [sum(b.decoded for b in ds.batches("train", 4)) for _ in range(2)][1] >= ds.counts()["train"] - 2
    off = load_dataset(DataOptions(name=f"folder:{root}", image_size=SIDE), seed=0, image_cache=ImageCache.disabled())
    np.testing.assert_array_equal(np.asarray(off.x_val), np.asarray(ds.x_val))


@pytest.mark.parametrize("frozen", [False, True], ids=["end-to-end, cached", "frozen prefix, no cache"])
def test_unreadable_files_found_late_are_skipped_listed_and_remembered(tmp_path: Path, frozen: bool) -> None:
    """Found while decoding before the epochs (end to end), or while the frozen prefix's features
    are extracted from images decoded on the way (no image cache): either way the file leaves its
    split, joins `skipped`, and labels, sources and features stay aligned."""
    from engine.caches.features import FeatureCache
    from engine.training.trainer import train

    root = make_folder(tmp_path / "pets", per_class=10)
    whole = (root / "red" / "red_03.jpg").read_bytes()
    (root / "red" / "red_03.jpg").write_bytes(whole[: len(whole) * 2 // 3])  # a header, then cut short
    (root / "blue" / "notes.jpg").write_bytes(b"%PDF-1.7 not a photo")
    cache = ImageCache.disabled() if frozen else None
    ds = load_dataset(DataOptions(name=f"folder:{root}", image_size=SIDE), seed=0, image_cache=cache)
    assert [Path(p).name for p, _ in ds.skipped] == ["notes.jpg"]  # found from its header
    before = sum(ds.counts().values())
    changes = {
        "data.name": f"folder:{root}",
        "data.image_size": SIDE,
        "arch.name": "mlp",
        "training.epochs": 1,
        "training.batch_size": 8,
    }
    if frozen:
        changes |= {"freeze_all_but": 1, "arch.dropout": False}
    result = train(
        ExperimentConfig().updated(**changes),
        dataset=ds,
        run_dir=tmp_path / "run",
        feature_cache=FeatureCache(disk_dir=None),
    )
    assert result.failed is None, result.failed
    assert result.feature_cache_used == frozen
    skipped = {Path(p).name: reason for p, reason in ds.skipped}
    assert set(skipped) == {"notes.jpg", "red_03.jpg"} and "truncated" in skipped["red_03.jpg"]
    assert sum(ds.counts().values()) == before - 1 and "red_03.jpg" not in " ".join(ds.val_sources)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["val_count"] == len(ds.y_val) == len(ds.val_sources)
    again = load_dataset(DataOptions(name=f"folder:{root}", image_size=SIDE), seed=0, image_cache=cache)
    if not frozen:
        assert again.skipped == ds.skipped  # the cache remembers why


@pytest.mark.parametrize("frozen", [False, True], ids=["decoding", "extracting"])
def test_stop_while_preparing_stops_promptly_and_leaves_a_consistent_run(tmp_path: Path, frozen: bool) -> None:
    from engine.caches.features import FeatureCache
    from engine.caches.usage import cache_usage
    from engine.core.events import Finished, Preparing
    from engine.training.trainer import train

    root = tmp_path / "many"
    for label, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        for i in range(250):
            photo(root / label / f"{i:03d}.jpg", (40, 30), colour, i)
    ds = load_dataset(DataOptions(name=f"folder:{root}", image_size=64), seed=0)
    if frozen:  # decoded already: the run goes straight to extracting (on a CPU it decodes first)
        ds.prepare()
    cancel = CancelToken()
    events: list = []

    def observer(event) -> None:
        events.append(event)
        if isinstance(event, Preparing):
            cancel.cancel()

    changes = {"data.name": f"folder:{root}", "data.image_size": 64, "arch.name": "mlp", "training.epochs": 5}
    if frozen:
        changes |= {"freeze_all_but": 1, "arch.dropout": False}
    result = train(
        ExperimentConfig().updated(**changes),
        observer,
        cancel,
        dataset=ds,
        run_dir=tmp_path / "run",
        feature_cache=FeatureCache(disk_dir=tmp_path / "features"),
    )
    preparing = [e for e in events if isinstance(e, Preparing)]
    assert result.cancelled and result.failed is None and result.history == []
    assert preparing[0].stage == ("extracting" if frozen else "decoding") and len(preparing) == 1
    assert isinstance(events[-1], Finished) and events[-1].cancelled
    assert preparing[0].done < preparing[0].total == 500
    if not frozen:
        decoded = next(u for u in cache_usage() if u.kind == "images").entries
        assert decoded <= preparing[0].done, f"{decoded} images decoded after Stop at {preparing[0].done}"
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} >= {
        "config.json",
        "preprocess.json",
        "history.json",
        "metrics.json",
        "model.keras",
    }
    assert json.loads((run / "metrics.json").read_text())["cancelled"] is True
    assert json.loads((run / "history.json").read_text()) == []
    assert not any((tmp_path / "features").glob("*/meta.json"))  # no half feature set kept


@pytest.mark.parametrize("mode", ["RGB", "L", "1", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr"])
def test_the_header_tells_the_channels_decoding_gives(tmp_path: Path, mode: str) -> None:
    """Folder datasets learn each file's channel count from its header; it must be what
    `open_image` then produces, for every mode Pillow may hand over."""
    from engine.images.decode import probe_image

    suffix = {"CMYK": ".jpg", "YCbCr": ".jpg", "F": ".tif", "I": ".tif"}.get(mode, ".png")
    image = Image.new("RGB", (20, 12), (200, 120, 40)).convert(mode)
    path = tmp_path / f"image{suffix}"
    image.save(path)
    decoded = open_image(path)
    assert probe_image(path).channels == (1 if decoded.mode == "L" else 3)
    assert (probe_image(path).width, probe_image(path).height) == (20, 12)
