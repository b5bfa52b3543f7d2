"""Explanations with real tiny models: Grad-CAM finds the object, saliency for MLPs, overlays
land on the original picture, feature maps and filters come out as images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError
from tests.engine.insight_data import SIDE, save_grey, square_npz, square_scene

pytest.importorskip("tensorflow")
from engine.images.prepare import Placement
from engine.images.spec import PreprocessSpec
from engine.inference.classifier import Classifier
from engine.insight.explain import (
    conv_layers,
    explain,
    feature_maps,
    first_layer_filters,
    overlay,
)
from engine.training.trainer import train


@pytest.fixture(scope="module")
def square_finder(tmp_path_factory):
    """A small CNN trained to tell a bright square from an empty picture (a few seconds)."""
    folder = tmp_path_factory.mktemp("squares")
    data = square_npz(folder / "squares.npz")
    config = ExperimentConfig().updated(
        **{
            "data.name": f"npz:{data}",
            "arch.name": "naive_cnn",
            "arch.dropout": False,
            "training.epochs": 6,
            "training.batch_size": 32,
            "training.learning_rate": 0.003,
        }
    )
    result = train(config, run_dir=folder / "run")
    assert result.failed is None, result.failed
    assert result.metrics.val_accuracy > 0.9
    return Classifier.from_run(folder / "run")


def inside(
    point: tuple[float, float], box: tuple[int, int, int, int], height: int, width: int, slack: float = 1.5
) -> bool:
    """Whether a (y, x) point in fractions lies on the box (pixels), within `slack` pixels."""
    y, x = point[0] * height, point[1] * width
    top, left, bottom, right = box
    return top - slack <= y <= bottom + slack and left - slack <= x <= right + slack


def test_gradcam_peaks_on_the_square(square_finder) -> None:
    rng = np.random.default_rng(123)
    hits = 0
    for _ in range(20):
        image, box = square_scene(rng)
        explanation = explain(square_finder, image[..., None].astype(np.float32), class_index=0)
        assert explanation.method == "gradcam" and explanation.layer == conv_layers(square_finder.model)[0]
        assert explanation.label == "square" and 0.0 <= explanation.probability <= 1.0
        assert explanation.heatmap.shape == (SIDE, SIDE) and explanation.heatmap.dtype == np.float32
        assert 0.0 <= explanation.heatmap.min() and explanation.heatmap.max() == pytest.approx(1.0)
        hits += inside(explanation.peak(), box, SIDE, SIDE)
    print(f"Grad-CAM peak on the square: {hits}/20")
    assert hits >= 16, f"the peak was on the square in only {hits} of 20 images"


def test_the_peak_maps_back_through_the_padding_onto_the_original(square_finder, tmp_path: Path) -> None:
    """A wide picture is shrunk and padded to the square input: the peak, in fractions of the
    original, still falls on the square where it is in the file."""
    rng = np.random.default_rng(7)
    hits = 0
    for i in range(12):
        image, box = square_scene(rng, width=40, height=SIDE)
        explanation = explain(square_finder, save_grey(image, tmp_path / f"wide{i}.png"), class_index=0)
        assert explanation.placement.width == pytest.approx(1.0) and explanation.placement.height > 1.0
        hits += inside(explanation.peak(), box, SIDE, 40, slack=2.0)
    print(f"Grad-CAM peak on the square of a padded picture: {hits}/12")
    assert hits >= 9, f"the peak was on the square in only {hits} of 12 padded images"


def test_overlay_is_the_original_size_and_tints_where_the_evidence_is(square_finder) -> None:
    rng = np.random.default_rng(3)
    image, box = square_scene(rng, width=40, height=SIDE)
    explanation = explain(square_finder, Image.fromarray(image, "L"), class_index=0)
    drawn = overlay(image, explanation.heatmap, placement=explanation.placement)
    assert drawn.shape == (SIDE, 40, 3) and drawn.dtype == np.uint8
    change = np.abs(drawn.astype(int) - np.repeat(image[..., None], 3, axis=-1)).sum(axis=-1)
    top, left, bottom, right = box
    assert change[top:bottom, left:right].mean() > change.mean()
    # Without a placement the usual pad-to-square geometry is assumed: the same picture.
    np.testing.assert_array_equal(overlay(image, explanation.heatmap), drawn)


def test_overlay_layers_blend_at_any_opacity_and_outline_the_strongest_region() -> None:
    from engine.insight.explain import STRONGEST, colour_key, overlay_layers

    picture = np.full((60, 80), 90, np.uint8)
    heat = np.zeros((16, 16), np.float32)
    heat[4:8, 10:14] = 1.0  # one strong place
    heat[12:14, 1:3] = 0.3  # and a faint one
    layers = overlay_layers(picture, heat)
    assert layers.picture.shape == layers.colours.shape == (60, 80, 3) and layers.outline.shape == (60, 80)
    faint = layers.blend(0.1).astype(int)
    strong = layers.blend(1.0).astype(int)
    inside = (slice(20, 25), slice(55, 65))  # the strong place's middle, on the 80×60 picture (padded to square)
    assert np.abs(strong[inside] - 90).mean() > np.abs(faint[inside] - 90).mean() > 0
    rows, cols = np.nonzero(layers.outline)
    assert layers.outline.any() and (layers.blend(0.5)[layers.outline] == 255).all()
    assert 45 <= cols.min() and cols.max() <= 75 and rows.max() <= 35, "only the strongest region is outlined"
    assert STRONGEST > 0.3  # the faint place is no part of it
    key = colour_key(100, 6)
    assert key.shape == (6, 100, 3) and key[0, 0, 2] > key[0, 0, 0] and key[0, -1, 0] > key[0, -1, 2]  # blue → red
    assert not overlay_layers(picture, np.zeros((16, 16), np.float32)).outline.any()  # no evidence, no outline


def test_placement_of_padding_is_exact() -> None:
    from engine.images.prepare import pad_placement

    placement = pad_placement((40, 32), (32, 32), True)  # 40×32 → 32×26 (rounded), 3 px bands above and below
    assert placement.left == 0.0 and placement.width == 1.0
    assert placement.to_original(0.5, 0.5) == pytest.approx((0.5, 0.5), abs=0.02)
    assert placement.to_original(0.0, 0.0)[0] < 0 < placement.to_original(1.0, 1.0)[0] - 1.0
    assert pad_placement((32, 32), (32, 32), True) == Placement()


def test_saliency_for_a_model_without_convolutions(tmp_path: Path) -> None:
    from engine.architectures import build_model
    from engine.config import ArchOptions

    model = build_model(ArchOptions(name="mlp"), (8, 8, 1), 3)
    classifier = Classifier(model, PreprocessSpec(height=8, width=8, channels=1, class_names=("a", "b", "c")))
    assert conv_layers(model) == []
    explanation = explain(classifier, np.full((8, 8, 1), 100, np.float32), class_index=2)
    assert explanation.method == "saliency" and explanation.layer is None and explanation.class_index == 2
    assert explanation.heatmap.shape == (8, 8) and explanation.label == "c"
    from engine.insight.explain import smoothed_saliency

    speckle = np.zeros((28, 28), np.float32)
    speckle[::3, ::3] = 1.0  # what raw gradients look like: isolated pixels
    smooth = smoothed_saliency(speckle)
    assert smooth.std() < 0.5 * speckle.std() and smooth.sum() == pytest.approx(speckle.sum(), rel=0.2)
    assert feature_maps(classifier, np.zeros((8, 8, 1), np.float32)) == []
    assert first_layer_filters(model) is None
    with pytest.raises(ConfigError, match="saliency"):
        explain(classifier, np.zeros((8, 8, 1), np.float32), layer="dense_1")


def test_feature_maps_filters_and_a_chosen_layer(square_finder) -> None:
    image = square_scene(np.random.default_rng(1))[0][..., None].astype(np.float32)
    maps = feature_maps(square_finder, image, max_channels=4)
    assert [name for name, _ in maps] == ["conv_1", "conv_2"]
    for _, grid in maps:
        assert grid.dtype == np.uint8 and grid.ndim == 2 and grid.max() == 255
    filters = first_layer_filters(square_finder.model)
    assert filters.dtype == np.uint8 and filters.ndim == 3 and filters.shape[-1] == 3
    first = explain(square_finder, image, layer="act_1")
    assert first.layer == "act_1" and first.heatmap.shape == (SIDE, SIDE)
    with pytest.raises(ConfigError, match="no_such_layer"):
        explain(square_finder, image, layer="no_such_layer")
    with pytest.raises(ConfigError, match="32×32×1"):
        explain(square_finder, np.zeros((8, 8, 1), np.float32))


def test_gradcam_works_on_an_imagenet_backbone() -> None:
    """MobileNetV2's layers (random weights: no download) on 96 px images: the default layer is
    its last activation, and the heatmap comes back at the input size."""
    from engine.architectures import build_model
    from engine.config import ArchOptions

    model = build_model(ArchOptions(name="mobilenet_v2", weights="none"), (96, 96, 3), 2)
    classifier = Classifier(model, PreprocessSpec(height=96, width=96, channels=3, class_names=("a", "b")))
    assert conv_layers(model)[0] == "out_relu"
    picture = np.random.default_rng(0).integers(0, 255, (96, 96, 3)).astype(np.float32)
    explanation = explain(classifier, picture)
    assert explanation.method == "gradcam" and explanation.layer == "out_relu"
    assert explanation.heatmap.shape == (96, 96) and np.isfinite(explanation.heatmap).all()
