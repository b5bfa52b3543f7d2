"""CapsNet: the layers do what the paper says, the preset adapts to small images, the
margin loss trains it, it saves and loads in safe mode, and it classifies dropped images with
its capsule lengths read as probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.architectures.outputs import normalise_lengths, output_kind
from engine.config import ArchOptions, ExperimentConfig
from engine.core.errors import ArchitectureError

keras = pytest.importorskip("keras")
from engine.architectures import build_model, custom_objects
from engine.architectures.capsnet import (
    CapsuleLength,
    ClassCapsules,
    MarginLoss,
    capsnet_kernel,
    squash,
)
from engine.runs.models import check_keras_archive, load_model_file


def pixels(shape, n=4, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


@pytest.mark.parametrize(
    "shape, classes, kernel, primary",
    [
        ((8, 8, 1), 10, 3, 2 * 2 * 32),  # scikit-learn's digits: 3×3 kernels
        ((28, 28, 1), 10, 9, 6 * 6 * 32),  # MNIST: the paper's 9×9, 1152 primary capsules
        ((32, 32, 3), 2, 9, 8 * 8 * 32),
    ],
)
def test_builds_for_small_images_with_the_papers_shapes(shape, classes, kernel, primary) -> None:
    model = build_model(ArchOptions(name="capsnet"), shape, classes)
    assert model.input_shape == (None, *shape) and model.output_shape == (None, classes)
    assert capsnet_kernel(shape[0]) == kernel == model.get_layer("conv_1").kernel_size[0]
    assert model.get_layer("conv_1").filters == 256 and model.get_layer("primary_conv").strides == (2, 2)
    assert model.get_layer("primary_capsules").output.shape[1:] == (primary, 8)
    assert model.get_layer("class_capsules").output.shape[1:] == (classes, 16)
    assert model.get_layer("class_capsules").routings == 3
    assert model.layers[-1].name == "predictions" and output_kind(model) == "capsule_lengths"
    lengths = np.asarray(model(pixels(shape)))
    assert ((lengths > 0) & (lengths < 1)).all()


def test_too_big_or_too_small_images_are_refused_in_words() -> None:
    with pytest.raises(ArchitectureError, match="64 px or less"):
        build_model(ArchOptions(name="capsnet"), (128, 128, 3), 10)
    with pytest.raises(ArchitectureError, match="at least 5×5"):
        build_model(ArchOptions(name="capsnet"), (4, 4, 1), 10)


def test_squash_keeps_direction_and_bounds_length() -> None:
    vectors = np.array([[3.0, 4.0], [0.03, 0.04]], np.float32)
    out = np.asarray(squash(vectors))
    lengths = np.linalg.norm(out, axis=-1)
    np.testing.assert_allclose(lengths, [25 / 26, 0.0025 / 1.0025], rtol=1e-4)
    np.testing.assert_allclose(
        out / lengths[:, None], vectors / np.linalg.norm(vectors, axis=-1, keepdims=True), rtol=1e-4
    )


def test_routing_by_agreement_couples_inputs_to_the_capsule_they_agree_on() -> None:
    """Eight inputs all predict the same vector for class 0, and cancelling vectors for class 1
    (pairs of opposites): routing moves their coupling to class 0, so its capsule grows with
    more iterations, while class 1's stays empty."""
    inputs = np.ones((1, 8, 4), np.float32) / 2.0
    weights = np.empty((8, 2, 4, 4), np.float32)
    weights[:, 0] = np.eye(4, dtype=np.float32) * 0.3
    weights[:, 1] = np.eye(4, dtype=np.float32) * 0.3 * np.array([1, -1] * 4, np.float32)[:, None, None]
    lengths = []
    for routings in (1, 3):
        layer = ClassCapsules(2, 4, routings)
        layer.build((None, 8, 4))
        layer.W.assign(weights)
        lengths.append(np.linalg.norm(np.asarray(layer(inputs))[0], axis=-1))
    assert lengths[1][0] > lengths[0][0] + 0.05
    assert lengths[0][1] < 1e-3 and lengths[1][1] < 1e-3


def test_margin_loss_is_the_papers() -> None:
    lengths = np.array([[0.95, 0.3, 0.05], [0.5, 0.05, 0.2]], np.float32)
    labels = np.array([0, 0])
    expected = [0.5 * (0.3 - 0.1) ** 2, (0.9 - 0.5) ** 2 + 0.5 * (0.2 - 0.1) ** 2]
    got = np.asarray(MarginLoss()(labels, lengths))
    np.testing.assert_allclose(got, np.mean(expected), rtol=1e-5)


def test_lengths_read_as_probabilities_of_exactly_one_class() -> None:
    lengths = np.array([[0.76, 0.08, 0.08], [0.5, 0.5, 0.5]])
    probabilities = normalise_lengths(lengths)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    odds = 0.76 / 0.24
    np.testing.assert_allclose(probabilities[0, 0], odds / (odds + 2 * 0.08 / 0.92))
    # the same as l_k Π_{j≠k} (1 − l_j), normalised
    direct = np.array([0.76 * 0.92 * 0.92, 0.08 * 0.24 * 0.92, 0.08 * 0.24 * 0.92])
    np.testing.assert_allclose(probabilities[0], direct / direct.sum())
    np.testing.assert_allclose(probabilities[1], [1 / 3] * 3)


def test_the_reconstruction_decoder_adds_its_loss_only_while_training() -> None:
    model = build_model(ArchOptions(name="capsnet"), (8, 8, 1), 10)
    x = pixels((8, 8, 1))
    model(x, training=False)
    assert not model.losses
    model(x, training=True)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0
    plain = build_model(ArchOptions(name="capsnet", reconstruction=False), (8, 8, 1), 10)
    assert "reconstruction" not in [layer.name for layer in plain.layers]
    np.testing.assert_array_equal(np.asarray(model(x)).shape, np.asarray(plain(x)).shape)


def test_saves_and_loads_in_safe_mode(tmp_path: Path) -> None:
    model = build_model(ArchOptions(name="capsnet"), (8, 8, 1), 3)
    path = tmp_path / "model.keras"
    model.save(path)
    check_keras_archive(path)
    loaded = load_model_file(path)
    x = pixels((8, 8, 1))
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    assert {"layerlab>ClassCapsules", "layerlab>CapsuleLength", "layerlab>MarginLoss"} <= set(custom_objects())
    assert isinstance(loaded.get_layer("predictions"), CapsuleLength)


def test_trains_on_digits_with_the_margin_loss_and_classifies_a_dropped_image(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from engine.inference.classifier import Classifier
    from engine.training.trainer import train

    config = ExperimentConfig().updated(
        **{"arch.name": "capsnet", "data.limit": 400, "training.epochs": 2, "training.batch_size": 32}
    )
    result = train(config, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    m = result.metrics
    assert m.val_accuracy > 0.5 and m.epochs_run == 2
    assert m.misclassified_count == round((1 - m.val_accuracy) * m.val_count)
    assert all(0 < w.confidence <= 1 for w in m.misclassified)
    assert result.history[0].loss > result.history[1].loss  # the margin loss falls
    classifier = Classifier.from_run(tmp_path / "run")
    assert classifier.output_kind == "capsule_lengths"
    digit = Image.fromarray(result.dataset.x_val[0, ..., 0])
    prediction = classifier.classify(digit, top_k=10)
    assert prediction.lengths is not None and prediction.lengths.shape == (10,)
    assert sum(p for _, p in prediction.top) == pytest.approx(1.0)
    np.testing.assert_allclose(prediction.probabilities, normalise_lengths(prediction.lengths[None])[0])
    assert prediction.top[0][0] == classifier.class_names[int(np.argmax(prediction.lengths))]
    from engine.insight.explain import explain

    explanation = explain(classifier, digit)  # Grad-CAM reads the lengths too, and says the same probability
    assert explanation.label == prediction.top[0][0] and explanation.probability == pytest.approx(prediction.top[0][1])
