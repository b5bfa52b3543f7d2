"""A seeded fuzzer in the spirit of Pillow's own: randomly mutated bytes of real files through
LayerLab's readers, where only LayerLab's own errors (`LayerLabError`) may come out.

Run as a module (`python -m tests.fuzz --seed 0`) it prints one JSON summary; the test runs it in
a subprocess under a memory limit and a timeout, so a crash of a C decoder or a runaway
allocation fails the test instead of taking pytest (or the machine) down.

Targets: `open_image` + `to_array` on PNG, JPEG and GIF; the `.npz` loader; `load_run` and
`list_runs` on run folders whose JSON files are mutated; `load_model_file` on mutated `.keras`
archives (bytes of the archive, or the JSON of its config).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

INTERESTING_INTS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000, 0x1000000)
INTERESTING_JSON: tuple[Any, ...] = (
    None,
    [],
    {},
    "",
    "x" * 300,
    -1,
    0,
    1e308,
    2**70,
    True,
    [[[[[[1]]]]]],
    float("nan"),
)


def mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    """One to three byte-level mutations: bit flips, interesting integers (sizes, counts),
    deletions, insertions, duplications, truncation."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        if not out:
            break
        at = int(rng.integers(0, len(out)))
        op = int(rng.integers(0, 6))
        if op == 0:
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(0, len(out)))
                out[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            value = INTERESTING_INTS[int(rng.integers(0, len(INTERESTING_INTS)))]
            order = "big" if rng.integers(0, 2) else "little"
            out[at : at + 4] = value.to_bytes(4, order)
        elif op == 2:
            del out[at : at + int(rng.integers(1, 64))]
        elif op == 3:
            out[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 32)), dtype=np.uint8))
        elif op == 4:
            out[at:at] = out[at : at + int(rng.integers(1, 256))]
        else:
            del out[at:]
    return bytes(out)


def mutate_json(text: str, rng: np.random.Generator) -> str:
    """Replace one value somewhere in a JSON document by an odd one (null, a list, a huge or
    negative number, NaN, deep nesting...), or fall back to byte mutation."""
    try:
        document = json.loads(text)
    except ValueError:
        return mutate_bytes(text.encode(), rng).decode("utf-8", "replace")
    if rng.integers(0, 4) == 0:
        return mutate_bytes(text.encode(), rng).decode("utf-8", "replace")
    odd = INTERESTING_JSON[int(rng.integers(0, len(INTERESTING_JSON)))]
    containers = [document] if isinstance(document, (dict, list)) else []
    stack = list(containers)
    while stack:
        item = stack.pop()
        children = list(item.values()) if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                containers.append(child)
                stack.append(child)
    if not containers:
        return json.dumps(odd)
    target = containers[int(rng.integers(0, len(containers)))]
    if isinstance(target, dict) and target:
        key = list(target)[int(rng.integers(0, len(target)))]
        if rng.integers(0, 5) == 0:
            del target[key]
        else:
            target[key] = odd
    elif isinstance(target, list) and target:
        target[int(rng.integers(0, len(target)))] = odd
    else:
        return json.dumps(odd)
    return json.dumps(document)


# --- the real files mutated -------------------------------------------------------------------------
def seed_images() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    pixels[:, :10] = 40
    image = Image.fromarray(pixels)
    files = {}
    for fmt, kwargs in (
        ("PNG", {}),
        ("JPEG", {"quality": 80}),
        ("GIF", {"save_all": True, "append_images": [image.rotate(90)]}),
    ):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **kwargs)
        files[fmt.lower()] = buffer.getvalue()
    return files


def seed_npz() -> bytes:
    x = np.zeros((12, 6, 6), np.uint8)
    x[::2, 1:4, 1:4] = 200
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x_train=x,
        y_train=np.arange(12) % 3,
        x_test=x[:3],
        y_test=np.arange(3),
        class_names=np.array(["a", "b", "c"]),
    )
    return buffer.getvalue()


# --- one target each: returns None when the input was used, raises otherwise -------------------------
def image_target(data: bytes) -> None:
    from engine.images.decode import open_image, to_array

    to_array(open_image(data), (16, 16), 3)


def npz_target(folder: Path) -> Callable[[bytes], None]:
    from engine.config import DataOptions
    from engine.datasets import load_dataset

    def use(data: bytes) -> None:
        path = folder / "fuzz.npz"
        path.write_bytes(data)
        load_dataset(DataOptions(name=f"npz:{path}", val_split=0.3))

    return use


def run_target(run_dir: Path, file: str) -> Callable[[bytes], None]:
    from engine.runs.folders import list_runs, load_run

    original = (run_dir / file).read_bytes()

    def use(data: bytes) -> None:
        (run_dir / file).write_bytes(data)
        try:
            list_runs(run_dir.parent)  # must never raise for one broken run
            load_run(run_dir)
        finally:
            (run_dir / file).write_bytes(original)

    return use


def model_target(folder: Path) -> Callable[[bytes], None]:
    from engine.runs.models import load_model_file

    def use(data: bytes) -> None:
        path = folder / "fuzz.keras"
        path.write_bytes(data)
        load_model_file(path)

    return use


def with_member_mutated(archive_bytes: bytes, rng: np.random.Generator) -> bytes:
    """The same zip with one member's bytes mutated and a valid directory and CRC: the mutation
    reaches the .npy header and data instead of stopping at the zip's checksum."""
    source = zipfile.ZipFile(io.BytesIO(archive_bytes))
    infos = source.infolist()
    chosen = infos[int(rng.integers(0, len(infos)))].filename
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in infos:
            data = source.read(info)
            target.writestr(info.filename, mutate_bytes(data, rng) if info.filename == chosen else data)
    return out.getvalue()


def with_config(archive_bytes: bytes, config: str) -> bytes:
    """The same .keras archive with its config.json replaced."""
    source = zipfile.ZipFile(io.BytesIO(archive_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, config if info.filename == "config.json" else source.read(info))
    return out.getvalue()


def fuzz(seed: int, per_target: int, models: int) -> dict[str, Any]:
    from engine.core.errors import LayerLabError
    from tests.corpus import tiny_model, write_run

    rng = np.random.default_rng(seed)
    summary: dict[str, Any] = {"seed": seed, "cases": {}, "used": {}, "failures": [], "slowest_s": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jobs: list[tuple[str, Callable[[bytes], None], Callable[[], bytes]]] = []
        for name, data in seed_images().items():
            jobs += [(name, image_target, lambda data=data: mutate_bytes(data, rng))] * per_target
        npz = seed_npz()
        jobs += [("npz/bytes", npz_target(folder), lambda: mutate_bytes(npz, rng))] * (per_target // 2)
        jobs += [("npz/member", npz_target(folder), lambda: with_member_mutated(npz, rng))] * (
            per_target - per_target // 2
        )
        run_dir = write_run(folder / "runs" / "run")
        for file in ("config.json", "history.json", "metrics.json", "preprocess.json"):
            text = (run_dir / file).read_text()
            jobs += [
                (
                    f"run/{file}",
                    run_target(run_dir, file),
                    lambda text=text: mutate_json(text, rng).encode("utf-8", "surrogatepass"),
                )
            ] * (per_target // 4)
        if models:
            model_path = folder / "base.keras"
            tiny_model(input_shape=(4, 4, 1), classes=2).save(model_path)
            archive = model_path.read_bytes()
            config = zipfile.ZipFile(model_path).read("config.json").decode()
            jobs += [("model/bytes", model_target(folder), lambda: mutate_bytes(archive, rng))] * (models // 2)
            jobs += [("model/config", model_target(folder), lambda: with_config(archive, mutate_json(config, rng)))] * (
                models - models // 2
            )
        for target, use, make in jobs:
            data = make()
            summary["cases"][target] = summary["cases"].get(target, 0) + 1
            start = time.perf_counter()
            try:
                use(data)
                summary["used"][target] = summary["used"].get(target, 0) + 1
            except LayerLabError as err:
                if "\n" in str(err):
                    summary["failures"].append(f"{target}: a message of several lines: {str(err)[:200]!r}")
            except Exception as err:
                summary["failures"].append(f"{target}: {type(err).__name__}: {str(err)[:200]}")
            summary["slowest_s"] = max(summary["slowest_s"], time.perf_counter() - start)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz LayerLab's readers with mutated real files.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-target", type=int, default=100, help="mutations per image format, npz and run files")
    parser.add_argument("--models", type=int, default=40, help="mutated .keras archives (0: skip, no TensorFlow)")
    args = parser.parse_args(argv)
    if args.models:
        from engine.runtime.startup import import_tensorflow_quietly

        import_tensorflow_quietly()
    import warnings

    warnings.simplefilter("error", RuntimeWarning)  # a NumPy warning would be printed: count it as a failure
    start = time.perf_counter()
    summary = fuzz(args.seed, args.per_target, args.models)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
