"""engine.datasets: registry, the Dataset container, split helpers, digits and shapes."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from engine.config import DataOptions
from engine.core.errors import DatasetError
from engine.datasets import Dataset, DatasetInfo, list_datasets, load_dataset
from engine.datasets.base import guess_polarity, limit_samples, stratified_indices, stratified_subset


def test_importing_the_registry_does_not_load_tensorflow() -> None:
    code = (
        "import sys, engine.datasets, engine.images.decode; from engine.datasets import list_datasets; list_datasets();"
        "bad = [m for m in ('tensorflow', 'keras', 'sklearn', 'PySide6') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_list_datasets() -> None:
    infos = list_datasets()
    assert all(isinstance(i, DatasetInfo) for i in infos)
    names = [i.name for i in infos]
    for name in ("digits", "shapes", "mnist", "fashion_mnist", "cifar10", "cifar100", "folder:PATH", "npz:PATH"):
        assert name in names
    downloads = {i.name: i.needs_download for i in infos}
    assert not downloads["digits"] and not downloads["shapes"] and downloads["mnist"] and downloads["cifar100"]


@pytest.mark.parametrize("name", ["nope", "folder:", "npz:", "digits:x", ""])
def test_unknown_names(name: str) -> None:
    with pytest.raises(DatasetError):
        load_dataset(DataOptions(name=name))


def test_digits_is_the_default_and_offline() -> None:
    ds = load_dataset(DataOptions())
    assert ds.name == "digits" and ds.class_names == [str(d) for d in range(10)]
    assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int32
    assert ds.x_train.max() == 255 and ds.x_train.min() == 0
    counts = ds.counts()
    assert counts["train"] + counts["validation"] == 1797 and counts["test"] == 0
    assert abs(counts["validation"] - 0.2 * 1797) <= 2
    assert ds.polarity == "light_on_dark" and ds.val_sources is None and ds.skipped == []
    # stratified: every class is in validation at about the same share
    per_class = np.bincount(ds.y_val, minlength=10) / np.bincount(np.concatenate([ds.y_train, ds.y_val]))
    assert per_class.min() > 0.17 and per_class.max() < 0.23


def test_digits_split_depends_on_the_seed_only() -> None:
    a, b, c = (load_dataset(DataOptions(), seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.x_val, b.x_val) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_val, c.y_val)
    d = load_dataset(DataOptions(val_split=0.5), seed=1)
    assert abs(d.counts()["validation"] - 898) <= 5


def test_limit_is_stratified_and_shrinks_validation() -> None:
    ds = load_dataset(DataOptions(limit=100), seed=0)
    assert ds.counts()["train"] == 100
    assert np.bincount(ds.y_train, minlength=10).min() >= 9
    assert 20 <= ds.counts()["validation"] <= 30
    assert set(ds.y_val.tolist()) == set(range(10))


def test_shapes_are_deterministic_balanced_and_sized() -> None:
    start = time.perf_counter()
    ds = load_dataset(DataOptions(name="shapes"), seed=3)
    assert time.perf_counter() - start < 5
    assert {"circle", "square", "triangle", "star"} <= set(ds.class_names)
    assert ds.input_shape == (32, 32, 3) and ds.polarity == "natural"
    total = ds.counts()["train"] + ds.counts()["validation"]
    assert total >= 2500
    counts = np.bincount(np.concatenate([ds.y_train, ds.y_val]))
    assert counts.max() - counts.min() <= 1
    again = load_dataset(DataOptions(name="shapes"), seed=3)
    assert np.array_equal(ds.x_train, again.x_train) and np.array_equal(ds.y_val, again.y_val)
    other = load_dataset(DataOptions(name="shapes", limit=50), seed=4)
    assert not np.array_equal(ds.x_train[:50], other.x_train)
    big = load_dataset(DataOptions(name="shapes", image_size=48, limit=20), seed=3)
    assert big.input_shape == (48, 48, 3) and big.counts()["train"] == 20


def test_shapes_vary_in_colour_and_position() -> None:
    ds = load_dataset(DataOptions(name="shapes", limit=200), seed=0)
    corners = ds.x_train[:, 0, 0, :].astype(int)
    assert len({tuple(c // 32) for c in corners}) > 20  # many background colours
    assert ds.x_train.std(axis=0).mean() > 40  # nothing sits in a fixed place


def make(n_train: int = 20, n_val: int = 10, shape=(6, 6, 1), classes: int = 2, **kwargs) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        "toy",
        [f"c{i}" for i in range(classes)],
        rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        np.arange(n_train) % classes,
        rng.integers(0, 256, (n_val, *shape), dtype=np.uint8),
        np.arange(n_val) % classes,
        **kwargs,
    )


def test_dataset_normalises_and_validates() -> None:
    ds = make(shape=(6, 6))  # (N, H, W) gains a channel axis
    assert ds.input_shape == (6, 6, 1) and ds.y_train.dtype == np.int32
    assert ds.counts() == {"train": 20, "validation": 10, "test": 0}
    with pytest.raises(DatasetError):
        Dataset("bad", ["a", "b"], np.zeros((3, 4, 4, 1)), np.zeros(2), np.zeros((1, 4, 4, 1)), np.zeros(1))
    with pytest.raises(DatasetError):
        Dataset("bad", ["a", "b"], np.zeros((3, 4, 4, 2)), np.zeros(3), np.zeros((1, 4, 4, 2)), np.zeros(1))
    with pytest.raises(DatasetError):
        make(val_sources=["only-one"])
    with pytest.raises(DatasetError, match="no test split"):
        make().split("test")


def test_samples_are_per_class_and_deterministic() -> None:
    ds = make(classes=3, n_train=30)
    samples = ds.samples(4)
    assert sorted(samples) == [0, 1, 2]
    assert all(v.shape == (4, 6, 6, 1) for v in samples.values())
    assert np.array_equal(samples[1], ds.samples(4)[1])
    assert np.array_equal(samples[2][0], ds.x_train[2])


def test_stratified_helpers_handle_tiny_classes() -> None:
    y = np.array([0] * 10 + [1] * 3 + [2])
    train, val = stratified_indices(y, 0.3, seed=0)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(14))
    assert 2 not in y[val] and 1 in y[val]
    keep = stratified_subset(np.repeat(np.arange(5), 100), 50, seed=0)
    assert len(keep) == 50 and np.bincount(np.repeat(np.arange(5), 100)[keep]).tolist() == [10] * 5
    keep = stratified_subset(np.array([0] * 98 + [1, 2]), 10, seed=0)
    assert len(keep) == 10 and {1, 2} <= set(np.array([0] * 98 + [1, 2])[keep].tolist())


def test_limit_keeps_val_sources_aligned() -> None:
    ds = make(n_train=100, n_val=50, val_sources=[f"v{i}" for i in range(50)])
    labels = ds.y_val.copy()
    limit_samples(ds, 20, seed=0)
    assert ds.counts()["train"] == 20 and ds.counts()["validation"] == 10
    assert all(labels[int(s[1:])] == y for s, y in zip(ds.val_sources, ds.y_val))


def test_guess_polarity() -> None:
    dark = np.zeros((5, 10, 10, 1), np.uint8)
    dark[:, 3:7, 3:7] = 255
    assert guess_polarity(dark) == "light_on_dark"
    assert guess_polarity(255 - dark) == "dark_on_light"
    assert guess_polarity(np.full((5, 10, 10, 1), 128, np.uint8)) == "natural"
    assert guess_polarity(np.zeros((5, 10, 10, 3), np.uint8)) == "natural"


def test_tf_dataset_batches_float32() -> None:
    tf = pytest.importorskip("tensorflow")
    ds = make(n_train=20, n_val=10, shape=(6, 6, 3), x_test=np.zeros((4, 6, 6, 3)), y_test=np.zeros(4))
    batches = list(ds.tf_dataset("train", 8, shuffle=True, seed=1))
    assert [b[0].shape[0] for b in batches] == [8, 8, 4]
    images, labels = batches[0]
    assert images.dtype == tf.float32 and labels.dtype == tf.int32 and tuple(images.shape[1:]) == (6, 6, 3)
    assert sorted(np.concatenate([b[1].numpy() for b in batches]).tolist()) == sorted(ds.y_train.tolist())
    val = np.concatenate([x.numpy() for x, _ in ds.tf_dataset("validation", 4)])
    assert np.array_equal(val, ds.x_val.astype(np.float32))  # unshuffled, in order, 0..255
    assert sum(int(x.shape[0]) for x, _ in ds.tf_dataset("test", 3)) == 4
    first = [y.numpy().tolist() for _, y in ds.tf_dataset("train", 20, shuffle=True, seed=5)]
    assert first == [y.numpy().tolist() for _, y in ds.tf_dataset("train", 20, shuffle=True, seed=5)]
