"""A corpus of bad and awkward inputs, generated at test time (no committed binaries).

One function per family writes its files into a given folder and returns `Case`s: the path to
hand to LayerLab and what must come out: `OK` (it is used normally) or a fragment that the
one-line refusal must contain (compared case-insensitively). The engine tests, the CLI tests and
the window's tests all draw on it, so a case once handled stays handled everywhere.

Families: `image_files` (corrupt, misnamed, odd modes, formats outside the allow-list,
huge headers, extreme aspect ratios, NaN floats), `special_files` (pipes, devices, links,
folders, non-UTF-8 names, oversized files), `npz_files` (pickles, shapes, NaN, label gaps,
a header declaring 93 GiB, a zip bomb, a single .npy), `run_folders` (broken JSON files,
mismatched models, foreign model files, code in models, path traversal, stale temporaries;
needs Keras) and `degenerate_data` (datasets too small to validate on).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

OK = "ok"


class Case(NamedTuple):
    path: Path
    expect: str  # OK, or a fragment the refusal must contain (case-insensitive)
    label: str = ""  # a short name for test ids; the file name when empty

    @property
    def id(self) -> str:
        return self.label or os.fsdecode(self.path.name)


def matches(case: Case, message: str) -> bool:
    """True when `message` is the refusal `case` expects (one line, holding its fragment)."""
    return "\n" not in message and case.expect.lower() in message.lower()


# --- bounds ---------------------------------------------------------------------------------------
MEMORY_LIMIT_BYTES = 6 * 2**30  # for a whole CLI process: TensorFlow alone maps about 3 GiB


def limit_memory(limit: int = MEMORY_LIMIT_BYTES) -> None:
    """`preexec_fn` of a subprocess: cap its address space, so a regression that allocates what a
    file's header asks for fails with MemoryError instead of exhausting the machine."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@contextlib.contextmanager
def address_space_limit(extra: int = 2 * 2**30) -> Iterator[None]:
    """Within this process, allow at most `extra` more bytes of address space for the block (the
    soft limit is lowered, then restored)."""
    import resource

    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = size + extra
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --- building blocks ---------------------------------------------------------------------------
def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def digit_image(size: int = 64) -> Image.Image:
    """A dark '7' on light paper: a plausible thing to classify with a digits model."""
    from PIL import ImageDraw

    image = Image.new("L", (size, size), 255)
    ImageDraw.Draw(image).line(
        [(size // 6, size // 6), (size - size // 6, size // 6), (size // 2, size - size // 10)],
        fill=0,
        width=max(2, size // 9),
    )
    return image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width×height pixels, with one tiny compressed row of data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _png_chunk(b"IEND", b"")
    )


def npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def write_deflated_zip(path: Path, members: list[tuple[str, bytes, int]]) -> Path:
    """A zip whose members are `prefix` followed by `zeros` zero bytes, deflated, written without
    ever holding the zeros: 16 MiB of zeros deflate (after a full flush) to the same 16 kB block
    every time, so a member of gigabytes costs a few MB on disk and a second to write. Names may
    be anything (absolute, `..`): this is for building hostile archives."""
    chunk = 1 << 24
    block_compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_compressor.compress(bytes(chunk)) + block_compressor.flush(zlib.Z_FULL_FLUSH)
    central, offset = [], 0
    with open(path, "wb") as out:
        for name, prefix, zeros in members:
            compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
            parts = [compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)]
            crc = zlib.crc32(prefix)
            whole, rest = divmod(zeros, chunk)
            zero_chunk = bytes(chunk)
            for _ in range(whole):
                crc = zlib.crc32(zero_chunk, crc)
            parts.append(block * whole)
            parts.append(compressor.compress(bytes(rest)) + compressor.flush(zlib.Z_FINISH))
            crc = zlib.crc32(bytes(rest), crc)
            data = b"".join(parts)
            size = len(prefix) + zeros
            encoded = name.encode("utf-8")
            local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0)
            out.write(local + encoded + data)
            central.append(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    20,
                    20,
                    0,
                    8,
                    0,
                    0,
                    crc,
                    len(data),
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + encoded
            )
            offset += len(local) + len(encoded) + len(data)
        directory = b"".join(central)
        out.write(directory)
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0))
    return path


def write_npz_members(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# --- family: images ------------------------------------------------------------------------------
def image_files(folder: Path) -> list[Case]:
    """Images a user may drop: most decode (odd modes included), the rest are refused by name."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    cases: list[Case] = []

    def add(name: str, data: bytes | Image.Image, expect: str, **save: Any) -> None:
        path = folder / name
        if isinstance(data, Image.Image):
            data.save(path, **save)
        else:
            path.write_bytes(data)
        cases.append(Case(path, expect))

    noise = Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8))
    add("photo.png", noise, OK)
    add("digit.png", digit_image(), OK)
    add("png_named.jpg", png_bytes(noise), OK)  # misnamed, still a PNG
    add("deep16.png", Image.fromarray(np.full((20, 30), 40000, np.uint16)), OK)
    add("cmyk.jpg", Image.new("CMYK", (30, 20), (0, 200, 200, 0)), OK)
    frames = [Image.new("RGB", (16, 16), (255, 255, 255)), Image.new("RGB", (16, 16), (0, 0, 0))]
    add("animated.gif", frames[0], OK, save_all=True, append_images=frames[1:], duration=50)
    palette = Image.new("P", (10, 10), 1)
    palette.info["transparency"] = 1
    add("palette_alpha.png", palette, OK)
    add("grey.pgm", Image.new("L", (12, 12), 90), OK)
    add("photo.webp", noise, OK)
    add("photo.bmp", noise, OK)
    add("photo.tif", noise, OK)
    add("float_ok.tif", Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8), "F"), OK)
    add("tall_1x100000.png", Image.new("L", (1, 100_000), 128), OK)  # family 1: padded, never a huge canvas
    add("wide_60000x1.png", Image.new("RGB", (60_000, 1), (200, 10, 10)), OK)
    full = png_bytes(noise)
    add("truncated.png", full[: len(full) // 2], "damaged or truncated")
    add("garbage.jpg", b"\xff\xd8\xff\xe0" + bytes(rng.integers(0, 256, 400, dtype=np.uint8)), "damaged")
    add("notes.png", b"hello, this is a text file\n", "not an image")
    add("empty.png", b"", "empty")
    add("document.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF")
    add("drawing.eps", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n", "EPS")
    add("binary.eps", b"\xc5\xd0\xd3\xc6" + bytes(60), "EPS")
    add("icon.ico", noise.resize((32, 32)), "PNG, JPEG")  # Pillow reads ICO; LayerLab does not
    add("targa.tga", noise, "PNG, JPEG")
    add("huge_header.png", png_header_only(100_000, 100_000), "too large")
    add("nan.tif", Image.fromarray(np.full((16, 16), np.nan, np.float32), "F"), "NaN")
    half = np.zeros((8, 8), np.float32)
    half[0, 0] = np.inf
    add("inf.tif", Image.fromarray(half, "F"), "infinite")
    add("archive.png", b"PK\x03\x04" + bytes(40), "ZIP")
    add("program.png", b"\x7fELF" + bytes(40), "program")
    return cases


# --- family: special files -------------------------------------------------------------------------
def special_files(folder: Path) -> list[Case]:
    """Paths that are not regular files, or that a careless reader would block or drown on."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    fifo = folder / "pipe.png"
    os.mkfifo(fifo)
    cases.append(Case(fifo, "named pipe"))
    cases.append(Case(Path("/dev/zero"), "device", "dev_zero"))
    loop = folder / "loop.png"
    loop.symlink_to(loop.name)
    cases.append(Case(loop, "loop"))
    dangling = folder / "dangling.png"
    dangling.symlink_to(folder / "gone.png")
    cases.append(Case(dangling, "does not exist"))
    good = folder / "linked_target.png"
    good.write_bytes(png_bytes(digit_image()))
    link = folder / "link.png"
    link.symlink_to(good.name)
    cases.append(Case(link, OK))
    directory = folder / "folder.png"
    directory.mkdir()
    cases.append(Case(directory, "folder"))
    cases.append(Case(folder / "missing.png", "not found"))
    latin1 = Path(os.fsdecode(os.path.join(os.fsencode(folder), b"caf\xe9-digit.png")))
    latin1.write_bytes(png_bytes(digit_image()))
    cases.append(Case(latin1, OK, "non_utf8_ok"))
    latin1_bad = Path(os.fsdecode(os.path.join(os.fsencode(folder), b"r\xe9sum\xe9.png")))
    latin1_bad.write_bytes(b"not an image at all")
    cases.append(Case(latin1_bad, "sum", "non_utf8_refused"))  # the name still prints (as r�sum�.png)
    big = folder / "sparse_big.png"
    with open(big, "wb") as f:
        f.truncate(300 * 2**20)  # sparse: no disk space used
    cases.append(Case(big, "too big"))
    if os.geteuid() != 0:  # root reads anything: the case only means something for a user
        locked = folder / "locked.png"
        locked.write_bytes(png_bytes(digit_image()))
        locked.chmod(0)
        cases.append(Case(locked, "permission denied"))
    sock_path = folder / "s.png"
    if len(os.fsencode(sock_path)) < 100:
        server = socket.socket(socket.AF_UNIX)
        server.bind(os.fsdecode(sock_path))
        server.close()  # the socket file stays
        cases.append(Case(sock_path, "socket"))
    return cases


# --- family: class folders -------------------------------------------------------------------------
def class_folders(folder: Path) -> list[Case]:
    """`folder:PATH` datasets: OK means it loads, and then every unusable file is listed among the
    skipped files with its reason (`SKIPPED_IN_CLASS_FOLDER`); a fragment means it is refused."""
    folder.mkdir(parents=True, exist_ok=True)
    mixed = folder / "mixed"
    for label, shade in (("dark", 30), ("light", 220)):
        (mixed / label).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (12 + i, 10), (shade, shade, shade)).save(mixed / label / f"{i}.png")
    os.mkfifo(mixed / "dark" / "pipe.png")
    (mixed / "dark" / "dangling.png").symlink_to(mixed / "nowhere.png")
    (mixed / "light" / "notes.jpg").write_text("not an image")
    (mixed / "light" / "loop").symlink_to(mixed / "light")  # a folder loop: never followed
    odd = Path(os.fsdecode(os.path.join(os.fsencode(mixed / "light"), b"caf\xe9.png")))
    Image.new("RGB", (10, 10), (220, 220, 220)).save(odd)
    one = folder / "one_class"
    (one / "only").mkdir(parents=True)
    Image.new("L", (8, 8)).save(one / "only" / "a.png")
    unreadable = folder / "nothing_readable"
    for label in ("a", "b"):
        (unreadable / label).mkdir(parents=True)
        (unreadable / label / "x.png").write_bytes(b"junk")
    return [
        Case(mixed, OK, "folder_mixed"),
        Case(one, "at least two", "folder_one_class"),
        Case(unreadable, "readable", "folder_nothing_readable"),
        Case(folder / "absent", "not found", "folder_absent"),
    ]


SKIPPED_IN_CLASS_FOLDER = {"pipe.png": "named pipe", "dangling.png": "does not exist", "notes.jpg": "not an image"}


# --- family: .npz datasets -------------------------------------------------------------------------
def _savez(path: Path, **arrays: Any) -> Path:
    np.savez(path, **arrays)
    return path


def npz_files(folder: Path) -> list[Case]:
    """`.npz` files for `npz:PATH`: one good, the rest refused before anything big is allocated."""
    folder.mkdir(parents=True, exist_ok=True)
    x = np.zeros((20, 8, 8), np.uint8)
    x[:, 2:6, 2:6] = 255
    y = np.arange(20) % 2
    cases = [
        Case(_savez(folder / "good.npz", x=x, y=y), OK),
        Case(
            _savez(folder / "pickled.npz", x_train=np.array([{"a": 1}, None], dtype=object), y_train=np.array([0, 1])),
            "pickled",
        ),
        Case(_savez(folder / "wrong_shape.npz", x=np.zeros((4, 8)), y=np.array([0, 1, 0, 1])), "shaped"),
        Case(_savez(folder / "nan.npz", x=np.full((4, 8, 8), np.nan), y=np.array([0, 1, 0, 1])), "NaN"),
        Case(_savez(folder / "one_class.npz", x=x, y=np.zeros(20, int)), "only one class"),
        Case(_savez(folder / "label_gaps.npz", x=x[:6], y=np.array([0, 1, 2, 0, 1, 5000])), "0, 1, 2, 5000"),
        Case(_savez(folder / "negative.npz", x=x[:4], y=np.array([0, 1, -1, 1])), "negative"),
        Case(_savez(folder / "float_labels.npz", x=x[:4], y=np.array([0.5, 1, 0, 1])), "integer class labels"),
        Case(_savez(folder / "mismatch.npz", x=x[:4], y=np.array([0, 1, 0])), "labels"),
        Case(_savez(folder / "no_images.npz", x=np.zeros((0, 8, 8)), y=np.zeros(0, int)), "no images"),
        Case(_savez(folder / "other_names.npz", images=x, labels=y), "it has: images, labels"),
        Case(_savez(folder / "unused_member_ok.npz", x=x, y=y, notes=np.zeros(3)), OK),
    ]
    huge = write_npz_members(
        folder / "header_93GiB.npz",
        {
            "x_train.npy": npy_header((25_000, 1000, 1000, 1), "<f4") + bytes(64),
            "y_train.npy": npy_bytes(np.array([0, 1])),
        },
    )
    cases.append(Case(huge, "would need 93.1 GiB"))
    lying = write_npz_members(
        folder / "short_data.npz",
        {"x.npy": npy_header((100, 8, 8), "<f8") + bytes(10), "y.npy": npy_bytes(np.arange(100) % 2)},
    )
    cases.append(Case(lying, "damaged"))
    bomb = write_deflated_zip(
        folder / "zip_bomb.npz",
        [
            ("x_train.npy", npy_header((3 * 1024, 1024, 1024), "|u1"), 3 * 2**30),
            ("y_train.npy", npy_bytes(np.arange(3 * 1024) % 2), 0),
        ],
    )
    cases.append(Case(bomb, "zip bomb"))
    unused_bomb = write_deflated_zip(
        folder / "unused_bomb_ok.npz",
        [("x.npy", npy_bytes(x), 0), ("y.npy", npy_bytes(y), 0), ("junk.npy", npy_header((2**30,), "|u1"), 2**30)],
    )
    cases.append(Case(unused_bomb, OK))  # never read: never inflated
    single = folder / "single.npy"
    np.save(single, np.zeros(3))
    cases.append(Case(single, "single .npy"))
    (folder / "text.npz").write_text("hello")
    cases.append(Case(folder / "text.npz", "not a NumPy .npz"))
    whole = (folder / "good.npz").read_bytes()
    (folder / "truncated.npz").write_bytes(whole[: len(whole) // 2])
    cases.append(Case(folder / "truncated.npz", "npz"))
    fifo = folder / "pipe.npz"
    os.mkfifo(fifo)
    cases.append(Case(fifo, "named pipe"))
    cases.append(Case(Path("/dev/zero"), "device", "dev_zero_npz"))
    return cases


# --- family: degenerate data -------------------------------------------------------------------------
def degenerate_data(folder: Path) -> list[Case]:
    """Datasets that load but are borderline: OK means training must finish and save a run."""
    folder.mkdir(parents=True, exist_ok=True)
    x = np.zeros((2, 8, 8), np.uint8)
    x[1] = 255
    return [
        Case(_savez(folder / "two_samples.npz", x=x, y=np.array([0, 1])), OK),  # nothing left to validate on
        Case(_savez(folder / "gaps.npz", x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 2, 5000])), "5000"),
    ]


# --- family: run folders (needs Keras) ----------------------------------------------------------------
CLASSES = [str(d) for d in range(10)]


def tiny_model(input_shape: tuple[int, int, int] = (8, 8, 1), classes: int = 10, lambda_layer: bool = False) -> Any:
    import keras

    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    if lambda_layer:
        x = keras.layers.Lambda(lambda t: t * 2.0, name="code")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax", name="predictions")(x))


def write_run(folder: Path, model: Any = None, spec: dict[str, Any] | None = None) -> Path:
    """A complete, healthy run folder (a real saved model, no training needed)."""
    from engine.config import ExperimentConfig

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(ExperimentConfig().to_json())
    spec = spec or {
        "height": 8,
        "width": 8,
        "channels": 1,
        "polarity": "light_on_dark",
        "pad_to_square": True,
        "class_names": CLASSES,
        "fit_content": True,
        "content_margin": 0.1,
    }
    (folder / "preprocess.json").write_text(json.dumps(spec))
    (folder / "history.json").write_text(
        json.dumps(
            [
                {
                    "epoch": 0,
                    "loss": 1.0,
                    "accuracy": 0.5,
                    "val_loss": 1.1,
                    "val_accuracy": 0.4,
                    "seconds": 0.1,
                    "stage": 1,
                    "partial": False,
                }
            ]
        )
    )
    (folder / "metrics.json").write_text(json.dumps({"val_count": 10, "val_accuracy": 0.4, "val_loss": 1.1}))
    (model if model is not None else tiny_model()).save(folder / "model.keras")
    return folder


def _with_member(model_file: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(model_file, "a") as archive:
        archive.writestr(name, data)


def run_folders(folder: Path) -> list[Case]:
    """Run folders: `expect` is about opening the run to classify with it (`Classifier.from_run`,
    `layerlab-cli classify RUN img`). See `BROKEN_IN_LISTING` for the ones `list_runs` flags."""
    folder.mkdir(parents=True, exist_ok=True)
    base = write_run(folder / "good")
    cases = [Case(base, OK, "run_good")]

    def variant(name: str, expect: str, **files: bytes | str) -> None:
        path = write_run(folder / name)
        for file, content in files.items():
            target = path / file.replace("_dot_", ".")
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        cases.append(Case(path, expect, f"run_{name}"))

    variant("config_null", "config.json", config_dot_json="null")
    variant("config_list", "config.json", config_dot_json="[1, 2]")
    variant("config_string", "config.json", config_dot_json='"hello"')
    variant("config_bad_json", "not valid JSON", config_dot_json="{")
    variant("metrics_list", "metrics.json", metrics_dot_json="[]")
    variant("history_broken", "history.json", history_dot_json="{broken")
    variant("history_nan_ok", OK, history_dot_json='[{"epoch": 0, "loss": NaN, "val_loss": Infinity}]')
    variant("preprocess_partial", "preprocess.json", preprocess_dot_json='{"height": 8}')
    variant(
        "preprocess_wrong_type", "preprocess.json", preprocess_dot_json='{"height": "tall", "width": 8, "channels": 1}'
    )
    variant(
        "random_bytes_model",
        "not a Keras model file",
        model_dot_keras=bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)),
    )
    no_preprocess = write_run(folder / "no_preprocess")
    (no_preprocess / "preprocess.json").unlink()
    cases.append(Case(no_preprocess, "no preprocess.json", "run_no_preprocess"))
    mismatch = write_run(
        folder / "spec_mismatch", spec={"height": 28, "width": 28, "channels": 1, "class_names": CLASSES}
    )
    cases.append(Case(mismatch, "do not belong together", "run_spec_mismatch"))
    other = write_run(folder / "model_of_another_run", model=tiny_model(classes=3))
    cases.append(Case(other, "another run", "run_model_of_another_run"))
    lam = write_run(folder / "lambda_model", model=tiny_model(lambda_layer=True))
    cases.append(Case(lam, "holds code", "run_lambda_model"))
    h5 = write_run(folder / "h5_model")
    tiny_model().save(h5 / "model.h5")
    os.replace(h5 / "model.h5", h5 / "model.keras")
    cases.append(Case(h5, "HDF5", "run_h5_model"))
    saved_model = write_run(folder / "savedmodel_dir")
    (saved_model / "model.keras").unlink()
    (saved_model / "model.keras").mkdir()
    (saved_model / "model.keras" / "saved_model.pb").write_bytes(b"\x08\x01")
    cases.append(Case(saved_model, "folder", "run_savedmodel_dir"))
    for name, member in (
        ("traversal", "../../evil.txt"),
        ("absolute_member", "/tmp/evil.txt"),
        ("extra_member", "evil.py"),
    ):
        path = write_run(folder / name)
        _with_member(path / "model.keras", member, b"print('hello')")
        cases.append(Case(path, "unsafe path" if name != "extra_member" else "unexpected file", f"run_{name}"))
    bomb = write_run(folder / "model_zip_bomb")
    with zipfile.ZipFile(bomb / "model.keras") as archive:
        config, metadata = archive.read("config.json"), archive.read("metadata.json")
    write_deflated_zip(
        bomb / "model.keras",
        [
            ("metadata.json", metadata, 0),
            ("config.json", config, 0),
            ("model.weights.h5", b"\x89HDF\r\n\x1a\n", 256 * 2**20),
        ],
    )
    cases.append(Case(bomb, "zip bomb", "run_model_zip_bomb"))
    stale = write_run(folder / "stale_temporaries")
    old = time.time() - 3600
    for name in (".model.keras.k2j3h4_x.keras", ".history.json.ab12cd34.json"):
        (stale / name).write_bytes(b"half a file")
        os.utime(stale / name, (old, old))
    (stale / ".metrics.json.fresh123.json").write_bytes(b"being written")  # recent: must stay
    cases.append(Case(stale, OK, "run_stale_temporaries"))
    (folder / "not_a_run").mkdir()
    (folder / "not_a_run" / "notes.txt").write_text("hello")
    return cases


# What `list_runs` must flag (a problem naming the file) among `run_folders`'s runs; the others
# (model problems are found when the model is opened) are listed as healthy.
BROKEN_IN_LISTING = {
    "config_null": "config.json",
    "config_list": "config.json",
    "config_string": "config.json",
    "config_bad_json": "config.json",
    "metrics_list": "metrics.json",
    "history_broken": "history.json",
    "preprocess_partial": "preprocess.json",
    "preprocess_wrong_type": "preprocess.json",
}


def all_families_without_keras(folder: Path) -> dict[str, list[Case]]:
    return {
        "images": image_files(folder / "images"),
        "special": special_files(folder / "special"),
        "npz": npz_files(folder / "npz"),
        "degenerate": degenerate_data(folder / "degenerate"),
    }
