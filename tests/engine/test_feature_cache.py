"""The frozen-feature cache is an object the caller owns: in memory within the budget, on disk
beyond it (same features, same accuracy), reused by a later run, float16 only when it must.
And the memory budget's default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import ExperimentConfig
from engine.core.events import Preparing, Started
from engine.core.memory import MemoryBudget, machine_memory_bytes

pytest.importorskip("tensorflow")
from engine.caches.features import FeatureCache
from engine.datasets import load_dataset
from engine.training.trainer import train


def frozen(**changes) -> ExperimentConfig:
    """An MLP on digits, all frozen but its output layer: its features are cached."""
    base = {
        "data.limit": 300,
        "training.epochs": 3,
        "training.batch_size": 32,
        "arch.name": "mlp",
        "arch.dropout": False,
    }
    return ExperimentConfig().updated(**({"freeze_all_but": 1} | base | changes))


@pytest.fixture(scope="module")
def digits():
    return load_dataset(frozen().data, seed=0)


def run(config, dataset, folder: Path, cache: FeatureCache):
    events: list = []
    result = train(config, events.append, dataset=dataset, run_dir=folder, feature_cache=cache)
    assert result.failed is None, result.failed
    return result, events


def test_memory_and_disk_variants_give_the_same_features_and_accuracy(digits, tmp_path: Path) -> None:
    in_memory = FeatureCache(memory_limit_bytes=2**30, disk_dir=None, precision="float32")
    on_disk = FeatureCache(memory_limit_bytes=0, disk_dir=tmp_path / "features", precision="float32")
    a, _ = run(frozen(), digits, tmp_path / "a", in_memory)
    b, events = run(frozen(), digits, tmp_path / "b", on_disk)
    assert a.feature_cache_used and b.feature_cache_used
    assert [e.loss for e in a.history] == [e.loss for e in b.history]
    assert a.metrics.val_accuracy == b.metrics.val_accuracy
    [key] = [p.name for p in (tmp_path / "features").iterdir()]
    kept = on_disk.get(key)
    assert kept is not None and not kept.in_memory and kept.dtype == np.float32
    remembered = in_memory.get(key)
    assert remembered is not None and remembered.in_memory
    np.testing.assert_array_equal(kept["train"].load(), remembered["train"].load())
    extracting = [e for e in events if isinstance(e, Preparing)]
    assert extracting[-1].stage == "extracting" and extracting[-1].done == extracting[-1].total == 300 + len(
        digits.y_val
    )


def test_a_later_run_reads_the_features_back(digits, tmp_path: Path) -> None:
    first, _ = run(frozen(), digits, tmp_path / "first", FeatureCache(disk_dir=tmp_path / "features"))
    again, events = run(frozen(), digits, tmp_path / "again", FeatureCache(disk_dir=tmp_path / "features"))
    preparing = [e for e in events if isinstance(e, Preparing)]
    assert len(preparing) == 1 and preparing[0].from_cache
    assert again.metrics.val_accuracy == first.metrics.val_accuracy
    _other, events = run(
        frozen(**{"training.seed": 1}),
        load_dataset(frozen().data, seed=1),
        tmp_path / "other",
        FeatureCache(disk_dir=tmp_path / "features"),
    )
    assert not any(isinstance(e, Preparing) and e.from_cache for e in events)  # another split: extracted anew


def test_float16_features_train_about_as_well(digits, tmp_path: Path) -> None:
    full, _ = run(frozen(), digits, tmp_path / "full", FeatureCache(disk_dir=None, precision="float32"))
    cache = FeatureCache(disk_dir=None, precision="float16")
    half, _ = run(frozen(), digits, tmp_path / "half", cache)
    assert abs(half.metrics.val_accuracy - full.metrics.val_accuracy) <= 0.02
    assert cache.dtype_for(10**9) == np.float16
    auto = FeatureCache(memory_limit_bytes=100, disk_dir=None)
    assert auto.dtype_for(100) == np.float16 and auto.dtype_for(50) == np.float32  # float16 past half the budget


def test_without_room_in_memory_or_on_disk_the_model_trains_end_to_end(digits, tmp_path: Path) -> None:
    result, events = run(
        frozen(**{"training.epochs": 1}), digits, tmp_path / "r", FeatureCache(memory_limit_bytes=0, disk_dir=None)
    )
    started = next(e for e in events if isinstance(e, Started))
    assert not result.feature_cache_used and "memory budget" in started.note


def test_the_default_cache_writes_to_the_user_cache_folder(digits, tmp_path: Path) -> None:
    import os

    result, _ = run(frozen(**{"training.epochs": 1}), digits, tmp_path / "r", FeatureCache.default())
    assert result.feature_cache_used
    assert any((Path(os.environ["LAYERLAB_HOME"]) / "cache" / "features").glob("*/meta.json"))


def test_memory_budget_default_is_a_quarter_of_the_memory_at_most_4_gib() -> None:
    assert MemoryBudget.default().bytes == min(4 * 2**30, machine_memory_bytes() // 4)
    budget = MemoryBudget.from_megabytes(1.5)
    assert budget.bytes == 1536 * 1024 and budget.fits(budget.bytes) and not budget.fits(budget.bytes + 1)
    assert str(MemoryBudget(2**30)) == "1.0 GiB"
    with pytest.raises(ValueError):
        MemoryBudget(-1)
    assert FeatureCache().memory_limit_bytes == MemoryBudget.default().bytes


@pytest.mark.parametrize("trainable", [1, 2], ids=["cut-at-the-penultimate-layer", "cut-below-it"])
def test_the_unfamiliarity_model_comes_from_the_cached_features(
    digits, tmp_path: Path, trainable: int, monkeypatch
) -> None:
    """After a training on cached features the OOD model's feature part is fitted from those rows
    through the head (no second pass of the frozen base over the split's images: they are read
    only for their statistics, and digits drawn larger go through the whole network as a user's
    file would), and it is the model the images would give."""
    from engine.images.spec import PreprocessSpec
    from engine.inference import ood
    from engine.training import feature_cache

    cache = FeatureCache(memory_limit_bytes=2**30, disk_dir=None, precision="float32")
    result, _ = run(frozen(freeze_all_but=trainable), digits, tmp_path / "run", cache)
    saved = ood.load_ood(tmp_path / "run")
    assert saved is not None and result.feature_cache_used
    plan, _ = feature_cache.plan(result.model)
    features = cache.get(
        feature_cache.feature_key(feature_cache.prefix_digest(plan), result.dataset, np.dtype(np.float32))
    )
    assert features is not None
    spec = PreprocessSpec.from_dataset(result.dataset)
    through: list = []
    real = ood.dual_outputs

    def recording(network, batches, cancel=None):
        through.append(network)
        return real(network, batches, cancel)

    monkeypatch.setattr(ood, "dual_outputs", recording)
    from_rows = ood.fit_ood(result.model, result.dataset, spec, cached=(plan.head_features, features))
    assert through[:2] == [plan.head_features] * 2, "the training and validation rows go through the head"
    monkeypatch.setattr(ood, "dual_outputs", real)
    from_images = ood.fit_ood(result.model, result.dataset, spec)
    for fitted in (saved, from_rows):
        np.testing.assert_allclose(fitted.features.means, from_images.features.means, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(fitted.image.reference, from_images.image.reference)
        for name, line in from_images.lines.items():
            assert fitted.lines[name] == pytest.approx(line, rel=1e-3)


def test_inference_batches_are_bounded_by_pixels_not_a_fixed_count() -> None:
    """A batch of 256 photos at 224 px through MobileNetV2 held gigabytes of activations (the
    first run on a folder of photos peaked at 5.9 GB); batches are bounded by their pixels."""
    from engine.core.memory import inference_batch

    assert inference_batch((224, 224, 3)) == 32
    assert inference_batch((28, 28, 1)) == 256  # small images: big batches, fast
    assert inference_batch((1280,)) == 256  # feature rows
    assert inference_batch((7, 7, 1280)) == 256
    assert inference_batch((1024, 1024, 3)) == 8  # never fewer than 8
