"""engine.datasets sources: Keras caches (faked, never downloaded), image folders and .npz files."""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.datasets import load_dataset
from engine.datasets.keras_datasets import CIFAR100_CLASSES

# ---------------------------------------------------------------- Keras datasets


@pytest.fixture
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras cache; any download attempt fails at once (no network in tests)."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    (home / "datasets").mkdir(parents=True)
    return home / "datasets"


def fake_mnist(cache: Path, n_train: int = 60, n_test: int = 20) -> None:
    rng = np.random.default_rng(0)
    np.savez(
        cache / "mnist.npz",
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test) % 10,
    )


def test_mnist_from_the_keras_cache(keras_home: Path) -> None:
    fake_mnist(keras_home)
    ds = load_dataset(DataOptions(name="mnist", val_split=0.25), seed=0)
    assert ds.input_shape == (28, 28, 1) and ds.class_names == [str(d) for d in range(10)]
    assert ds.counts() == {"train": 45, "validation": 15, "test": 20}
    assert ds.polarity == "light_on_dark" and ds.x_test.dtype == np.uint8 and ds.y_test.dtype == np.int32
    limited = load_dataset(DataOptions(name="mnist", limit=30), seed=0)
    assert limited.counts()["train"] == 30 and limited.counts()["test"] == 12


def test_fashion_mnist_from_the_keras_cache(keras_home: Path) -> None:
    folder = keras_home / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 10)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0" * 8 + labels.tobytes()))
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\0" * 16 + images.tobytes()))
    ds = load_dataset(DataOptions(name="fashion_mnist"), seed=0)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.counts() == {"train": 30, "validation": 10, "test": 10}
    assert ds.input_shape == (28, 28, 1)


def cifar_batch(n: int, label_key: bytes, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), label_key: [i % 10 for i in range(n)]}
    return pickle.dumps(batch, protocol=2)


def test_cifar10_from_extracted_batches(keras_home: Path) -> None:
    folder = keras_home / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(cifar_batch(10, b"labels", i))
    (folder / "test_batch").write_bytes(cifar_batch(10, b"labels", 9))
    ds = load_dataset(DataOptions(name="cifar10"), seed=0)
    assert ds.input_shape == (32, 32, 3) and ds.polarity == "natural"
    assert ds.class_names[0] == "airplane" and ds.counts() == {"train": 40, "validation": 10, "test": 10}


def test_cifar100_from_a_downloaded_archive(keras_home: Path) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        for name, content in (
            ("train", cifar_batch(100, b"fine_labels", 1)),
            ("test", cifar_batch(20, b"fine_labels", 2)),
            ("meta", pickle.dumps({b"fine_label_names": [n.encode() for n in CIFAR100_CLASSES]}, protocol=2)),
        ):
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    (keras_home / "cifar-100-python.tar.gz").write_bytes(data.getvalue())
    ds = load_dataset(DataOptions(name="cifar100"), seed=0)
    assert ds.num_classes == 100 and ds.class_names[:3] == ["apple", "aquarium_fish", "baby"]
    assert ds.counts()["test"] == 20


def test_cifar100_names_are_the_standard_hundred() -> None:
    assert len(CIFAR100_CLASSES) == 100 == len(set(CIFAR100_CLASSES))
    assert CIFAR100_CLASSES == sorted(CIFAR100_CLASSES)


def test_cached_pickles_may_hold_only_arrays(keras_home: Path) -> None:
    folder = keras_home / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps({b"data": Path("/"), b"labels": []}, protocol=2))
    with pytest.raises(DatasetError, match="damaged"):
        load_dataset(DataOptions(name="cifar10"))


@pytest.mark.parametrize(
    "name, file",
    [("mnist", "mnist.npz"), ("fashion_mnist", "train-labels-idx1-ubyte.gz"), ("cifar10", "cifar-10-python.tar.gz")],
)
def test_missing_download_names_the_file_and_where_it_goes(keras_home: Path, monkeypatch, name: str, file: str) -> None:
    from keras.src.backend import config
    from keras.src.utils import file_utils

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setattr(config, "_KERAS_DIR", str(keras_home.parent))  # Keras read KERAS_HOME at import
    with pytest.raises(DatasetError) as err:
        load_dataset(DataOptions(name=name))
    message = str(err.value)
    assert "not downloaded" in message and file in message and str(keras_home) in message and "\n" not in message


def test_damaged_mnist_cache(keras_home: Path) -> None:
    (keras_home / "mnist.npz").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DatasetError, match="damaged"):
        load_dataset(DataOptions(name="mnist"))


# ---------------------------------------------------------------- folders


def jpeg(path: Path, size: tuple[int, int], colour, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)


def odd_folder(root: Path) -> Path:
    """Two classes of mixed formats and sizes, plus junk that must be skipped or ignored."""
    for i in range(6):
        jpeg(root / "cats" / f"cat{i}.jpg", (40 + 7 * i, 30 + 3 * i), (200, 20 + i, 20))
        jpeg(root / "dogs" / f"dog{i}.JPEG", (30, 50 + 5 * i), (20, 20, 200 - i))
    frames = [Image.new("RGB", (20, 20), (255, 0, 0)), Image.new("RGB", (20, 20), (0, 255, 0))]
    frames[0].save(root / "cats" / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    Image.fromarray(np.full((20, 30), 40000, np.uint16)).save(root / "dogs" / "deep.png")
    jpeg(root / "dogs" / "print.jpg", (24, 24), (0, 255, 255, 0), mode="CMYK")
    (root / "cats" / "corrupt.png").write_bytes(np.random.default_rng(0).bytes(300))
    (root / "dogs" / "paper.jpg").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\n")
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / ".hidden.jpg").write_bytes(b"garbage")
    jpeg(root / ".thumbnails" / "x.jpg", (8, 8), (0, 0, 0))
    jpeg(root / "cats" / ".cache" / "y.jpg", (8, 8), (0, 0, 0))
    return root


def test_folder_single_root_with_odd_files(tmp_path: Path) -> None:
    root = odd_folder(tmp_path / "pets")
    ds = load_dataset(DataOptions(name=f"folder:{root}", val_split=0.25, image_size=16), seed=0)
    assert ds.class_names == ["cats", "dogs"] and ds.input_shape == (16, 16, 3)
    assert ds.counts()["train"] + ds.counts()["validation"] == 15 and ds.counts()["test"] == 0
    skipped = {Path(p).name: reason for p, reason in ds.skipped}
    assert set(skipped) == {"corrupt.png", "paper.jpg"} and "PDF" in skipped["paper.jpg"]
    assert ds.polarity == "natural" and len(ds.val_sources) == len(ds.x_val)
    for source, label, image in zip(ds.val_sources, ds.y_val, ds.x_val):
        assert Path(source).parent.name == ds.class_names[label]
        if Path(source).suffix.lower() in (".jpg", ".jpeg") and "print" not in source:  # plain colour fills
            red = image[8, 8, 0] > image[8, 8, 2]
            assert red == (ds.class_names[label] == "cats")
    again = load_dataset(DataOptions(name=f"folder:{root}", val_split=0.25, image_size=16), seed=0)
    assert again.val_sources == ds.val_sources and np.array_equal(again.x_train, ds.x_train)


def test_folder_default_size_and_greyscale(tmp_path: Path) -> None:
    for label, value in (("dark", 10), ("light", 240)):
        for i in range(3):
            jpeg(tmp_path / label / f"{i}.png", (10 + i, 12), value, mode="L")
    ds = load_dataset(DataOptions(name=f"folder:{tmp_path}"), seed=0)
    assert ds.input_shape == (64, 64, 1)


def test_folder_train_valid_test_layout(tmp_path: Path) -> None:
    for split, n in (("train", 5), ("valid", 2), ("test", 3)):
        for label, colour in (("a", (255, 0, 0)), ("b", (0, 0, 255))):
            for i in range(n):
                jpeg(tmp_path / split / label / f"{i}.jpg", (20, 30), colour)
    (tmp_path / "valid" / "a" / "bad.png").write_bytes(b"junk")
    ds = load_dataset(DataOptions(name=f"folder:{tmp_path}", image_size=12), seed=0)
    assert ds.class_names == ["a", "b"]
    assert ds.counts() == {"train": 10, "validation": 4, "test": 6}
    assert [Path(p).parts[-3] for p in ds.val_sources] == ["valid"] * 4
    assert [Path(p).name for p, _ in ds.skipped] == ["bad.png"]
    (tmp_path / "valid").rename(tmp_path / "validation")
    assert load_dataset(DataOptions(name=f"folder:{tmp_path}", image_size=12), seed=0).counts()["validation"] == 4


def test_folder_train_and_test_without_validation_splits_train(tmp_path: Path) -> None:
    for split, n in (("train", 10), ("test", 2)):
        for label in ("a", "b"):
            for i in range(n):
                jpeg(tmp_path / split / label / f"{i}.png", (8, 8), (i * 20, 0, 0))
    ds = load_dataset(DataOptions(name=f"folder:{tmp_path}", image_size=8, val_split=0.2), seed=0)
    assert ds.class_names == ["a", "b"] and ds.counts() == {"train": 16, "validation": 4, "test": 4}


def test_folder_limit_decodes_a_share(tmp_path: Path) -> None:
    for label in ("a", "b"):
        for i in range(40):
            jpeg(tmp_path / label / f"{i}.png", (8, 8), (i, 0, 0))
    ds = load_dataset(DataOptions(name=f"folder:{tmp_path}", image_size=8, limit=10), seed=0)
    assert ds.counts()["train"] == 10 and 2 <= ds.counts()["validation"] <= 4
    assert len(ds.val_sources) == ds.counts()["validation"]


def test_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(DataOptions(name=f"folder:{tmp_path / 'missing'}"))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        load_dataset(DataOptions(name=f"folder:{tmp_path / 'file.txt'}"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no sub-folders"):
        load_dataset(DataOptions(name=f"folder:{empty}"))
    one = tmp_path / "one"
    jpeg(one / "only" / "1.jpg", (8, 8), (0, 0, 0))
    with pytest.raises(DatasetError, match="only 'only'"):
        load_dataset(DataOptions(name=f"folder:{one}"))
    broken = tmp_path / "broken"
    jpeg(broken / "good" / "1.jpg", (8, 8), (0, 0, 0))
    jpeg(broken / "good" / "2.jpg", (8, 8), (0, 0, 0))
    (broken / "bad").mkdir()
    (broken / "bad" / "x.jpg").write_bytes(b"%PDF-1.7")
    with pytest.raises(DatasetError, match="readable"):
        load_dataset(DataOptions(name=f"folder:{broken}"))


# ---------------------------------------------------------------- npz


def npz(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_train_test_and_class_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.zeros((30, 12, 12), np.float32)
    x[:, 4:8, 4:8] = 1.0  # light blob on black, floats in 0..1
    name = npz(
        tmp_path / "d.npz",
        x_train=x,
        y_train=np.arange(30) % 3,
        x_test=x[:6],
        y_test=np.arange(6) % 3,
        class_names=np.array(["red", "green", "blue"]),
    )
    ds = load_dataset(DataOptions(name=name, val_split=0.2), seed=0)
    assert ds.class_names == ["red", "green", "blue"] and ds.input_shape == (12, 12, 1)
    assert ds.counts() == {"train": 24, "validation": 6, "test": 6}
    assert ds.x_train.max() == 255 and ds.polarity == "light_on_dark"
    rgb = rng.integers(0, 256, (20, 8, 8, 4)).astype(np.uint8)
    onehot = np.eye(2, dtype=np.float32)[np.arange(20) % 2]
    ds = load_dataset(DataOptions(name=npz(tmp_path / "e.npz", x=rgb, y=onehot)), seed=0)
    assert ds.input_shape == (8, 8, 3) and ds.class_names == ["0", "1"] and ds.counts()["test"] == 0


def test_npz_value_ranges_are_scaled_by_a_stated_rule(tmp_path: Path) -> None:
    x = np.linspace(-3, 3, 20 * 16).reshape(20, 4, 4)
    ds = load_dataset(DataOptions(name=npz(tmp_path / "z.npz", x=x, y=np.arange(20) % 2), val_split=0.5), seed=0)
    values = np.concatenate([ds.x_train.ravel(), ds.x_val.ravel()])
    assert values.min() == 0 and values.max() == 255
    x16 = np.full((10, 4, 4), 1000, np.uint16)
    x16[0] = 4000
    ds = load_dataset(DataOptions(name=npz(tmp_path / "w.npz", x=x16, y=np.arange(10) % 2)), seed=0)
    assert np.concatenate([ds.x_train, ds.x_val]).max() == 255


@pytest.mark.parametrize(
    "arrays, words",
    [
        (dict(x_train=np.array([{"a": 1}, None], dtype=object), y_train=np.array([0, 1])), "pickled"),
        (dict(images=np.zeros((4, 8, 8)), labels=np.array([0, 1, 0, 1])), "it has: images, labels"),
        (dict(x=np.zeros((4, 8, 8)), y=np.array([0, 1, 0])), "4 images but y has 3"),
        (dict(x=np.zeros((4, 8, 8)), y=np.array([0, 1, 0, -1])), "negative"),
        (dict(x=np.zeros((4, 8, 8)), y=np.array([0, 0, 0, 0])), "only one class"),
        (dict(x=np.zeros((4, 8)), y=np.array([0, 1, 0, 1])), "shaped"),
        (dict(x=np.zeros((4, 8, 8, 2)), y=np.array([0, 1, 0, 1])), "shaped"),
        (dict(x=np.zeros((4, 8, 8)), y=np.array([0.5, 1, 0, 1])), "integer class labels"),
        (dict(x=np.zeros((4, 8, 8)), y=np.array([0, 1, 0, 3]), class_names=np.array(["a", "b"])), "class_names"),
        (
            dict(
                x_train=np.zeros((4, 8, 8)),
                y_train=np.array([0, 1, 0, 1]),
                x_test=np.zeros((2, 9, 9)),
                y_test=np.array([0, 1]),
            ),
            "x_test",
        ),
        (dict(x=np.full((4, 8, 8), np.nan), y=np.array([0, 1, 0, 1])), "NaN"),
    ],
)
def test_npz_errors(tmp_path: Path, arrays: dict, words: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=words) as err:
        load_dataset(DataOptions(name=f"npz:{path}"))
    assert "\n" not in str(err.value)


def test_npz_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(DataOptions(name=f"npz:{tmp_path / 'nope.npz'}"))
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DatasetError, match="not a NumPy .npz"):
        load_dataset(DataOptions(name=f"npz:{tmp_path / 'text.npz'}"))
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DatasetError, match="single .npy"):
        load_dataset(DataOptions(name=f"npz:{tmp_path / 'single.npy'}"))


def test_folder_with_only_train_is_split(tmp_path: Path) -> None:
    for label in ("a", "b"):
        for i in range(5):
            jpeg(tmp_path / "train" / label / f"{i}.png", (8, 8), (0, i * 40, 0))
    ds = load_dataset(DataOptions(name=f"folder:{tmp_path}", image_size=8, val_split=0.2), seed=0)
    assert ds.class_names == ["a", "b"] and ds.counts() == {"train": 8, "validation": 2, "test": 0}
    jpeg(tmp_path / "car" / "1.png", (8, 8), (0, 0, 0))  # now "train" is one class among others
    ds = load_dataset(DataOptions(name=f"folder:{tmp_path}", image_size=8), seed=0)
    assert ds.class_names == ["car", "train"]
