"""Layer table, freezing by name and by "all but N", exact parameter counts, frozen BatchNorm."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy as np
import pytest

from engine.architectures import block_of, build_model
from engine.config import ArchOptions
from engine.core.errors import ConfigError

keras = pytest.importorskip("keras")
from engine.architectures.layers import LayerInfo, apply_freezing, layer_table, param_counts


@pytest.fixture
def model():
    return build_model(ArchOptions(name="bn_cnn", batchnorm=True), (8, 8, 1), 10)


def test_layer_table(model):
    table = layer_table(model)
    assert all(isinstance(row, LayerInfo) for row in table)
    assert [row.name for row in table] == [layer.name for layer in model.layers]
    first = table[0]
    assert (first.name, first.kind, first.output_shape, first.params, first.has_weights) == (
        "image",
        "Input",
        "8×8×1",
        0,
        False,
    )
    conv = next(row for row in table if row.name == "conv_1")
    assert conv.kind == "Conv2D" and conv.output_shape == "8×8×32"
    assert conv.params == 3 * 3 * 1 * 32 and conv.trainable_params == conv.params and conv.has_weights
    bn = next(row for row in table if row.name == "bn_1")
    assert bn.params == 4 * 32 and bn.trainable_params == 2 * 32
    assert table[-1].output_shape == "10" and table[-1].block == "head"
    assert sum(row.params for row in table) == model.count_params()


def test_block_of():
    assert block_of("block3_conv2", "vgg16") == "block3"
    assert block_of("fc1", "vgg16") == "head"
    assert block_of("conv4_block2_1_conv", "resnet50") == "conv4"
    assert block_of("block_12_expand", "mobilenet_v2") == "block_12"
    assert block_of("mixed7", "inception_v3") == "mixed7"
    assert block_of("mixed4_conv2d_3", "inception_v3") == "mixed4"
    assert block_of("block6c_se_reduce", "efficientnet_b0") == "block6"
    assert block_of("head_dense", "resnet50") == "head"
    assert block_of("preprocess", "resnet50") == "input"
    assert block_of("conv_1", "mlp") is None


def trainable_names(model) -> list[str]:
    return [layer.name for layer in model.layers if layer.trainable and layer.weights]


def test_freeze_by_name(model):
    apply_freezing(model, {"conv_1": False, "bn_1": False}, None)
    assert not model.get_layer("conv_1").trainable and not model.get_layer("bn_1").trainable
    assert model.get_layer("conv_2").trainable
    _trainable, frozen = param_counts(model)
    assert frozen == (3 * 3 * 32) + 4 * 32 + sum(
        2 * layer.weights[0].shape[0] for layer in model.layers if layer.name.startswith("bn_") and layer.name != "bn_1"
    )


def test_freeze_all_but(model):
    weighted = [layer.name for layer in model.layers if layer.weights]
    apply_freezing(model, {}, 2)
    assert trainable_names(model) == weighted[-2:]
    apply_freezing(model, {}, 0)
    assert trainable_names(model) == []
    assert param_counts(model) == (0, model.count_params())
    # all-but first, then overrides by name.
    apply_freezing(model, {"conv_1": True, "predictions": False}, 1)
    assert trainable_names(model) == ["conv_1"]


def test_unknown_layer_name(model):
    with pytest.raises(ConfigError, match=r"no layer named 'conv_9' in this model \(it has: image, rescale, conv_1"):
        apply_freezing(model, {"conv_1": False, "conv_9": False}, 0)
    assert model.get_layer("conv_1").trainable  # nothing changed


@pytest.mark.parametrize("name", ["mlp", "bn_cnn", "cifar_cnn"])
def test_param_counts_match_keras(name):
    model = build_model(ArchOptions(name=name, batchnorm=True), (8, 8, 1), 10)
    apply_freezing(model, {}, 3)
    trainable, frozen = param_counts(model)
    assert trainable + frozen == model.count_params()
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        model.summary()
    text = buffer.getvalue().replace(",", "")
    assert int(re.search(r"Trainable params: (\d+)", text).group(1)) == trainable
    assert int(re.search(r"Non-trainable params: (\d+)", text).group(1)) == frozen
    table = layer_table(model)
    assert sum(row.trainable_params for row in table) == trainable


def test_frozen_batchnorm_runs_in_inference_mode(model):
    apply_freezing(model, {"bn_1": False}, None)
    bn = model.get_layer("bn_1")
    before = [np.array(w) for w in bn.non_trainable_weights]
    x = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 1)).astype("float32")
    model(x, training=True)
    after = [np.array(w) for w in bn.non_trainable_weights]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    # A trainable BN on the same batch does move its statistics.
    other = model.get_layer("bn_2")
    moving_before = np.array(other.moving_mean)
    model(x, training=True)
    assert not np.allclose(np.array(other.moving_mean), moving_before)
    # And the frozen BN's output in training mode equals its inference output.
    sub = keras.Model(model.input, bn.output)
    np.testing.assert_allclose(
        np.asarray(sub(x, training=True)), np.asarray(sub(x, training=False)), rtol=1e-5, atol=1e-5
    )


def test_freezing_takes_effect_at_compile(model):
    apply_freezing(model, {}, 1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (8, 8, 8, 1)).astype("float32")
    y = np.arange(8) % 10
    conv_before = np.array(model.get_layer("conv_1").kernel)
    out_before = np.array(model.get_layer("predictions").kernel)
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(np.array(model.get_layer("conv_1").kernel), conv_before)
    assert not np.allclose(np.array(model.get_layer("predictions").kernel), out_before)
