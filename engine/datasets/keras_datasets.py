"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 through Keras's download cache.

Files already in the cache (`$KERAS_HOME` or `~/.keras`, folder `datasets/`) are read directly,
without network and without unpickling: CIFAR's pickled batches go through an unpickler that
only accepts NumPy arrays, lists and dicts. A missing file is downloaded by `keras.datasets`
(once); offline, the error names the file to fetch and where to put it.
"""

from __future__ import annotations

import gzip
import os
import pickle
import socket
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.datasets.base import Dataset, Rows, split_array
from engine.runtime.startup import import_tensorflow_quietly

FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TF_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
DOWNLOAD_TIMEOUT_S = 30


CIFAR100_CLASSES = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
]


def keras_datasets_dir() -> Path:
    """Where Keras caches datasets: `$KERAS_HOME/datasets`, else `~/.keras/datasets`.

    Mirrors `keras.src.utils.file_utils.get_file` (including its /tmp fallback when the home
    folder is read-only) so that files Keras downloaded are found without importing Keras.
    """
    home = os.environ.get("KERAS_HOME")
    if home:
        base = Path(home).expanduser()
    else:
        user = Path("~").expanduser()
        base = (user if os.access(user, os.W_OK) else Path("/tmp")) / ".keras"
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp") / ".keras"
    return base / "datasets"


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _mnist_like(name: str) -> Arrays | None:
    cache = keras_datasets_dir()
    if name == "mnist":
        path = cache / "mnist.npz"
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as f:
                return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        except Exception as err:
            raise DatasetError(f"the cached {path} is damaged ({err}): delete it to download it again") from None
    paths = [cache / "fashion-mnist" / f for f in FASHION_FILES]
    if not all(p.is_file() for p in paths):
        return None
    try:
        labels = [np.frombuffer(gzip.open(p).read(), np.uint8, offset=8) for p in paths[0::2]]
        images = [np.frombuffer(gzip.open(p).read(), np.uint8, offset=16) for p in paths[1::2]]
        x_train, x_test = (im.reshape(len(lb), 28, 28) for im, lb in zip(images, labels))
    except Exception as err:
        raise DatasetError(
            f"the cached Fashion-MNIST files in {paths[0].parent} are damaged ({err}): delete them"
        ) from None
    return x_train, labels[0], x_test, labels[1]


class _ArraysOnly(pickle.Unpickler):
    """Unpickles CIFAR's batches (dicts of NumPy arrays and lists) and refuses everything else."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_batch(path: Path, label_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        batch = _ArraysOnly(f, encoding="bytes").load()
    data = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return data, np.asarray(batch[label_key], np.int32)


def _cifar_folder(name: str) -> Path | None:
    """The folder with CIFAR's extracted batches, extracting a cached archive when needed."""
    cache = keras_datasets_dir()
    inner = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    target = "cifar-10-batches-py-target" if name == "cifar10" else "cifar-100-python-target"
    archive_name = "cifar-10-python.tar.gz" if name == "cifar10" else "cifar-100-python.tar.gz"
    for folder in (cache / target / inner, cache / inner):
        if folder.is_dir():
            return folder
    for archive in (cache / archive_name, cache / f"{target}_archive"):
        if archive.is_file():
            try:
                with tarfile.open(archive) as tar:
                    tar.extractall(cache / target, filter="data")
            except (tarfile.TarError, OSError) as err:
                raise DatasetError(f"cannot extract {archive} ({err}): delete it and download it again") from None
            if (cache / target / inner).is_dir():
                return cache / target / inner
    return None


def _cifar(name: str) -> tuple[Arrays, list[str]] | None:
    folder = _cifar_folder(name)
    if folder is None:
        return None
    try:
        if name == "cifar10":
            parts = [_read_batch(folder / f"data_batch_{i}", b"labels") for i in range(1, 6)]
            x_train = np.concatenate([p[0] for p in parts])
            y_train = np.concatenate([p[1] for p in parts])
            x_test, y_test = _read_batch(folder / "test_batch", b"labels")
            return (x_train, y_train, x_test, y_test), CIFAR10_CLASSES
        x_train, y_train = _read_batch(folder / "train", b"fine_labels")
        x_test, y_test = _read_batch(folder / "test", b"fine_labels")
        with open(folder / "meta", "rb") as f:
            meta = _ArraysOnly(f, encoding="bytes").load()
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"fine_label_names"]]
        return (x_train, y_train, x_test, y_test), names
    except (OSError, KeyError, ValueError, pickle.UnpicklingError, EOFError) as err:
        raise DatasetError(f"the cached {name} files in {folder} are damaged ({err}): delete the folder") from None


def _download(name: str) -> Arrays:
    """Let Keras download (and cache) the dataset; offline, say which file goes where."""

    import_tensorflow_quietly()  # the first import of Keras may be here: keep its chatter off stderr
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    loaders: dict[str, Callable[[], Any]] = {
        "mnist": keras.datasets.mnist.load_data,
        "fashion_mnist": keras.datasets.fashion_mnist.load_data,
        "cifar10": keras.datasets.cifar10.load_data,
        "cifar100": lambda: keras.datasets.cifar100.load_data("fine"),
    }
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        (x_train, y_train), (x_test, y_test) = loaders[name]()
    except Exception as err:
        raise DatasetError(offline_message(name, err)) from None
    finally:
        socket.setdefaulttimeout(previous)
    return x_train, y_train, x_test, y_test


def offline_message(name: str, err: BaseException | None = None) -> str:
    cache = keras_datasets_dir()
    where = {
        "mnist": (f"{TF_DATASETS}mnist.npz", cache / "mnist.npz"),
        "fashion_mnist": (f"the four files {', '.join(FASHION_FILES)} from {TF_DATASETS}", cache / "fashion-mnist"),
        "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", cache / "cifar-10-python.tar.gz"),
        "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", cache / "cifar-100-python.tar.gz"),
    }[name]
    detail = (str(err).strip().splitlines() or [type(err).__name__])[0][:160] if err is not None else ""
    reason = f" ({detail})" if detail else ""
    put = "put them in" if name == "fashion_mnist" else "put it at"
    return f"{name} is not downloaded and cannot be fetched{reason}: download {where[0]} and {put} {where[1]}"


def load_keras_dataset(options: DataOptions, seed: int) -> Dataset:
    name = options.name
    class_names: list[str]
    if name in ("mnist", "fashion_mnist"):
        arrays = _mnist_like(name) or _download(name)
        class_names = [str(d) for d in range(10)] if name == "mnist" else FASHION_CLASSES
    else:
        found = _cifar(name)
        if found is None:
            arrays = _download(name)
            class_names = CIFAR10_CLASSES if name == "cifar10" else CIFAR100_CLASSES
        else:
            arrays, class_names = found
    x_train, y_train, x_test, y_test = arrays
    x_train, x_test = (_nhwc(x) for x in (x_train, x_test))
    y_train, y_test = (np.asarray(y, np.int32).reshape(-1) for y in (y_train, y_test))
    x_tr, y_tr, x_val, y_val, train_rows, val_rows = split_array(x_train, y_train, options.val_split, seed, "x_train")
    polarity = "light_on_dark" if name in ("mnist", "fashion_mnist") else "natural"
    return Dataset(
        name,
        class_names,
        x_tr,
        y_tr,
        x_val,
        y_val,
        x_test,
        y_test,
        polarity=polarity,
        train_rows=train_rows,
        val_rows=val_rows,
        test_rows=Rows.of("x_test", np.arange(len(x_test))),
    )


def _nhwc(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.uint8)
    return x[..., None] if x.ndim == 3 else x
