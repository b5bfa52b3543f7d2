"""Files written into a temporary Keras cache, as Keras would have downloaded them (tiny, random
contents, the real names and layouts), for tests of the loaders and of the lessons."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from PIL import Image


def fake_mnist(datasets: Path, n_train: int = 60, n_test: int = 20) -> None:
    """`mnist.npz` with random digits, every class present."""
    rng = np.random.default_rng(0)
    np.savez(
        datasets / "mnist.npz",
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test) % 10,
    )


def fake_cifar10(datasets: Path, per_batch: int = 10) -> None:
    """CIFAR-10's extracted python batches (5 training batches and the test batch)."""
    folder = datasets / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, seed in [(f"data_batch_{i}", i) for i in range(1, 6)] + [("test_batch", 9)]:
        rng = np.random.default_rng(seed)
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": [i % 10 for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))


def fake_class_index(models: Path) -> None:
    """`imagenet_class_index.json` with 1 000 made-up classes ("class 3 name")."""
    index = {str(i): [f"n{i:08d}", f"class_{i}_name"] for i in range(1000)}
    (models / "imagenet_class_index.json").write_text(json.dumps(index))


def legacy_weights(model, path: Path) -> Path:
    """A Keras model's weights in the HDF5 layout keras.applications downloads."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def fake_mobilenet_v2(models: Path, *, include_top: bool, side: int = 224) -> Path:
    """MobileNetV2's published weights file (no hash is checked for it), random weights."""
    import keras

    from engine.architectures.weights import imagenet_file
    from engine.inference.imagenet import top_weights_file

    keras.utils.set_random_seed(1)
    model = keras.applications.MobileNetV2(include_top=include_top, weights=None, input_shape=(side, side, 3))
    name = (
        top_weights_file("mobilenet_v2", side).file_name
        if include_top
        else imagenet_file("mobilenet_v2", side).file_name
    )
    return legacy_weights(model, models / name)


def photo_folder(root: Path, classes: tuple[str, ...] = ("cats", "dogs", "horses"), per_class: int = 6) -> Path:
    """A small folder of photos, one sub-folder per class, each class its own colour."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(60 + 70 * c, 20, (24, 30, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{name}_{i}.png")
    return root
