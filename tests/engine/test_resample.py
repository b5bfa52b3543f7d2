"""The resample rule: new runs shrink folder images with a whole-factor reduce then bilinear (fast),
runs made before the rule was recorded keep Lanczos, and each run's rule is the one its training
images, its image cache, its feature cache and its inference use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from engine.caches.images import ImageCache
from engine.config import SCHEMA_VERSION, DataOptions, ExperimentConfig
from engine.datasets.decoding import decode_file
from engine.datasets.folder import load_folder
from engine.images.decode import DEFAULT_RESAMPLE, LEGACY_RESAMPLE, open_for_network, open_image, to_array
from engine.images.prepare import preprocess
from engine.images.spec import PreprocessSpec


def photo(path: Path, size: tuple[int, int], seed: int = 0) -> Path:
    """A photo-like JPEG: smooth colour fields, edges and grain."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
    pixels = np.asarray(field.filter(ImageFilter.GaussianBlur(1.5)), np.float32)
    pixels[size[1] // 3 : size[1] // 2, size[0] // 4 : size[0] // 2] = (250, 30, 30)  # a sharp-edged patch
    pixels += rng.normal(0, 6, pixels.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=88)
    return path


def test_new_configs_use_the_fast_rule_and_older_runs_keep_lanczos() -> None:
    assert ExperimentConfig().data.resample == DEFAULT_RESAMPLE == "bilinear"
    assert ExperimentConfig().schema_version == SCHEMA_VERSION == 3
    old_run = {"schema_version": 1, "data": {"name": "folder:/photos", "image_size": 224}}
    assert ExperimentConfig.from_dict(old_run).data.resample == LEGACY_RESAMPLE == "lanczos"
    assert ExperimentConfig.from_dict({"schema_version": 1}).data.resample == "lanczos"
    # A person's remembered choices (the window's settings) are not a run to reproduce.
    assert ExperimentConfig.from_dict(old_run, as_run=False).data.resample == "bilinear"
    again = ExperimentConfig.from_json(ExperimentConfig().updated(**{"data.resample": "lanczos"}).to_json())
    assert again.data.resample == "lanczos"


def test_a_preprocess_file_without_the_rule_is_lanczos() -> None:
    old = {"height": 64, "width": 64, "channels": 3, "class_names": ["a", "b"]}
    assert PreprocessSpec.from_dict(old).resample == "lanczos"
    assert PreprocessSpec.from_dict(old | {"resample": "bilinear"}).resample == "bilinear"


def test_lanczos_keeps_the_pixels_runs_were_trained_on(tmp_path: Path) -> None:
    """The legacy rule is exactly what folder datasets did before: a JPEG drafted to reach twice
    the target on both sides, then Lanczos."""
    path = photo(tmp_path / "p.jpg", (1100, 820))
    before = to_array(open_image(path, draft_size=(128, 128)), (64, 64), 3)
    np.testing.assert_array_equal(decode_file(str(path), 64, "lanczos"), before)


def test_bilinear_is_close_to_lanczos(tmp_path: Path) -> None:
    for seed, size in enumerate([(516, 304), (375, 500), (1600, 1200), (230, 230)]):
        path = photo(tmp_path / f"{seed}.jpg", size, seed)
        fast = decode_file(str(path), 224, "bilinear").astype(int)
        sharp = decode_file(str(path), 224, "lanczos").astype(int)
        assert fast.shape == sharp.shape == (224, 224, 3)
        difference = np.abs(fast - sharp)
        assert difference.mean() < 2.5 and np.percentile(difference, 99) <= 16, (size, difference.mean())


@pytest.mark.parametrize("size", [(516, 304), (300, 700), (880, 660), (2600, 1900), (160, 120)])
def test_a_photo_decodes_for_training_as_it_does_when_dropped(tmp_path: Path, size: tuple[int, int]) -> None:
    """The training decode and the inference decode of a file are the same pixels: always for
    the bilinear rule; below four times the target for Lanczos (its inference decode is what
    those runs were tested with)."""
    path = photo(tmp_path / "p.jpg", size)
    rules = ["bilinear"] + (["lanczos"] if max(size) < 4 * 224 else [])
    for rule in rules:
        spec = PreprocessSpec(height=224, width=224, channels=3, resample=rule)
        np.testing.assert_array_equal(decode_file(str(path), 224, rule), preprocess(path, spec).astype(np.uint8))
        np.testing.assert_array_equal(
            decode_file(str(path), 224, rule), preprocess(path.read_bytes(), spec).astype(np.uint8)
        )


def test_a_big_jpeg_is_decoded_at_a_reduced_scale_that_still_covers_its_fitted_size(tmp_path: Path) -> None:
    path = photo(tmp_path / "big.jpg", (2000, 1500))
    # Fitted inside 448×448 it is 448×336: 1/4 scale (500×375) covers it, 1/8 (250×188) would not.
    assert open_image(path, draft_size=(448, 448), draft_fit=True).size == (500, 375)
    # Reaching 448 on both sides (the lanczos rule's draft) needs 1/2 scale.
    assert open_image(path, draft_size=(448, 448)).size == (1000, 750)
    # Turned by EXIF or not, the scale covers either orientation.
    assert open_image(photo(tmp_path / "tall.jpg", (1500, 2000)), draft_size=(448, 448), draft_fit=True).size == (
        375,
        500,
    )
    # A network input of 224: the bilinear rule decodes at 1/8 (250×188 covers 224×168).
    assert open_for_network(path, 224, "bilinear").size == (250, 188)
    assert open_for_network(path, 224, "lanczos").size == (1000, 750)


def test_each_rule_has_its_own_image_cache_and_feature_key(tmp_path: Path) -> None:
    for i in range(8):
        photo(tmp_path / "photos" / ("a" if i % 2 else "b") / f"{i}.jpg", (200 + 10 * i, 150), i)
    cache = ImageCache(tmp_path / "cache")
    loaded = {}
    for rule in ("bilinear", "lanczos"):
        options = DataOptions(name=f"folder:{tmp_path / 'photos'}", image_size=32, val_split=0.25, resample=rule)
        dataset = load_folder(str(tmp_path / "photos"), options, seed=0, image_cache=cache)
        assert dataset.resample == rule and dataset.prepare() is True
        loaded[rule] = dataset
    folders = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert folders == ["v1-32x32", "v1-32x32-bilinear"]  # "lanczos" keeps the folder runs made before
    assert loaded["bilinear"].fingerprint() != loaded["lanczos"].fingerprint()
    fast, _ = loaded["bilinear"].split("train")
    sharp, _ = loaded["lanczos"].split("train")
    assert not np.array_equal(np.asarray(fast[:4]), np.asarray(sharp[:4]))
    with pytest.raises(ValueError, match="lanczos"):
        type(loaded["bilinear"])("x", ["a", "b"], {}, image_size=32, store=cache.store(32, 32, "lanczos"))


def test_a_trained_runs_preprocess_file_records_the_rule(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from engine.datasets import load_dataset
    from engine.training.trainer import train

    for i in range(24):
        photo(tmp_path / "photos" / ("a" if i % 2 else "b") / f"{i}.jpg", (120, 90), i)
    for rule in ("bilinear", "lanczos"):
        config = ExperimentConfig().updated(
            **{
                "data.name": f"folder:{tmp_path / 'photos'}",
                "data.image_size": 16,
                "data.resample": rule,
                "arch.name": "mlp",
                "training.epochs": 1,
            }
        )
        result = train(config, lambda event: None, dataset=load_dataset(config.data, seed=0), run_dir=tmp_path / rule)
        assert result.failed is None, result.failed
        assert json.loads((tmp_path / rule / "preprocess.json").read_text())["resample"] == rule
        assert json.loads((tmp_path / rule / "config.json").read_text())["data"]["resample"] == rule
