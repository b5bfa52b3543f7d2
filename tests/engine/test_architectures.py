"""Registry and scratch presets: options change the layers they should, every preset builds for
digits (8×8×1) and CIFAR-sized (32×32×3) input, names are stable, models survive safe-mode saving."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from engine.architectures import ArchInfo, build_model, get_architecture, list_architectures
from engine.config import ACTIVATIONS, ArchOptions
from engine.core.errors import ArchitectureError

keras = pytest.importorskip("keras")

SCRATCH = ["mlp", "naive_cnn", "bn_cnn", "cifar_cnn", "vgg16"]
BACKBONES = ["vgg16_imagenet", "resnet50", "mobilenet_v2", "inception_v3", "efficientnet_b0"]


def kinds(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers]


def count(model, kind: str) -> int:
    return kinds(model).count(kind)


def test_import_is_cheap():
    code = (
        "import sys, engine.architectures as a; a.list_architectures(); "
        "print(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_list_architectures():
    infos = list_architectures()
    assert [i.name for i in infos] == SCRATCH + ["capsnet"] + BACKBONES
    assert [i.name for i in list_architectures("autoencoder")] == ["dense_autoencoder", "conv_autoencoder"]
    assert [i.name for i in list_architectures(None)] == SCRATCH + ["capsnet"] + BACKBONES + [
        "dense_autoencoder",
        "conv_autoencoder",
    ]
    assert get_architecture("capsnet").loss == "margin" and get_architecture("mlp").loss == "crossentropy"
    assert (
        get_architecture("conv_autoencoder").task == "autoencoder"
        and get_architecture("capsnet").task == "classification"
    )
    assert all(isinstance(i, ArchInfo) and i.description for i in infos)
    assert {i.kind for i in infos if i.name in SCRATCH} == {"scratch"}
    assert {i.kind for i in infos if i.name in BACKBONES} == {"backbone"}
    assert get_architecture("inception_v3").default_image_size == 299
    assert get_architecture("inception_v3").min_image_size == 75
    assert get_architecture("resnet50").min_image_size == 32
    assert get_architecture("bn_cnn").defaults == {"batchnorm": True}


@pytest.mark.parametrize("name", SCRATCH)
@pytest.mark.parametrize("shape,classes", [((8, 8, 1), 10), ((32, 32, 3), 2)])
def test_scratch_builds(name, shape, classes):
    model = build_model(ArchOptions(name=name), shape, classes)
    assert model.name == name
    assert model.input_shape == (None, *shape)
    assert model.output_shape == (None, classes)
    assert model.layers[0].name == "image"
    assert model.layers[1].name == "rescale" and kinds(model)[1] == "Rescaling"
    out = model.layers[-1]
    assert out.name == "predictions" and out.dtype_policy.name == "float32"
    probs = model(np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32"))
    np.testing.assert_allclose(np.sum(np.asarray(probs), axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", SCRATCH)
def test_dropout_toggle(name):
    on = build_model(ArchOptions(name=name, dropout=True, dropout_rate=0.3), (16, 16, 1), 3)
    off = build_model(ArchOptions(name=name, dropout=False), (16, 16, 1), 3)
    assert count(on, "Dropout") > 0 and count(off, "Dropout") == 0
    rates = {layer.rate for layer in on.layers if type(layer).__name__ == "Dropout"}
    assert 0.3 in rates


@pytest.mark.parametrize("name", SCRATCH)
def test_batchnorm_toggle(name):
    on = build_model(ArchOptions(name=name, batchnorm=True), (16, 16, 1), 3)
    off = build_model(ArchOptions(name=name, batchnorm=False), (16, 16, 1), 3)
    assert count(on, "BatchNormalization") > 0 and count(off, "BatchNormalization") == 0
    # BatchNorm sits between the weighted layer and its activation.
    names = [layer.name for layer in on.layers]
    for i, layer in enumerate(on.layers):
        if type(layer).__name__ == "BatchNormalization":
            assert type(on.layers[i - 1]).__name__ in ("Conv2D", "Dense"), names[i - 1]
            assert type(on.layers[i + 1]).__name__ in ("Activation", "LeakyReLU"), names[i + 1]


def test_mlp_layout():
    model = build_model(ArchOptions(name="mlp"), (8, 8, 1), 10)
    assert [layer.name for layer in model.layers] == [
        "image",
        "rescale",
        "flatten",
        "dense_1",
        "act_1",
        "dropout_1",
        "dense_2",
        "act_2",
        "dropout_2",
        "predictions",
    ]
    assert [layer.units for layer in model.layers if type(layer).__name__ == "Dense"] == [512, 512, 10]
    assert model.get_layer("dropout_1").rate == 0.5


def test_naive_cnn_layout():
    model = build_model(ArchOptions(name="naive_cnn", dropout=False), (8, 8, 1), 10)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, c.kernel_size, c.strides) for c in convs] == [(10, (4, 4), (2, 2)), (20, (3, 3), (2, 2))]
    assert model.get_layer("conv_2").output.shape[1:] == (2, 2, 20)


def test_bn_cnn_layout_and_activation():
    model = build_model(ArchOptions(name="bn_cnn", batchnorm=True), (28, 28, 1), 10)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [(c.filters, c.strides[0]) for c in convs] == [(32, 1), (32, 2), (64, 1), (64, 2)]
    assert model.get_layer("dense_1").units == 128
    assert count(model, "LeakyReLU") == 5  # "relu" means LeakyReLU for this preset
    elu = build_model(ArchOptions(name="bn_cnn", activation="elu"), (28, 28, 1), 10)
    assert count(elu, "LeakyReLU") == 0 and elu.get_layer("act_1").activation.__name__ == "elu"


def test_cifar_cnn_layout():
    model = build_model(ArchOptions(name="cifar_cnn"), (32, 32, 3), 10)
    assert [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"] == [32, 32, 64, 64, 64, 64]
    assert count(model, "MaxPooling2D") == 3
    assert [layer.rate for layer in model.layers if type(layer).__name__ == "Dropout"] == [0.25, 0.25, 0.25, 0.5]
    assert model.get_layer("pool_3").output.shape[1:] == (4, 4, 64)
    assert model.get_layer("dense_1").units == 512
    # 8×8 digits: 8 → 4 → 2 → 1, each block still pools.
    digits = build_model(ArchOptions(name="cifar_cnn"), (8, 8, 1), 10)
    assert digits.get_layer("pool_3").output.shape[1:] == (1, 1, 64)
    # 2×2 input: the later blocks skip pooling instead of failing.
    tiny = build_model(ArchOptions(name="cifar_cnn"), (2, 2, 1), 10)
    assert count(tiny, "MaxPooling2D") == 1


def test_vgg16_layout():
    model = build_model(ArchOptions(name="vgg16"), (32, 32, 3), 10)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert len(convs) == 13
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert convs[0].name == "block1_conv1" and convs[-1].name == "block5_conv3"
    assert [f"block{b}_pool" in [layer.name for layer in model.layers] for b in range(1, 6)] == [True] * 5
    assert model.get_layer("fc1").units == 512 and model.get_layer("fc2").units == 512
    digits = build_model(ArchOptions(name="vgg16"), (8, 8, 1), 10)
    assert count(digits, "MaxPooling2D") == 3  # 8 → 4 → 2 → 1, blocks 4 and 5 keep 1×1


def test_vgg16_width_and_units():
    from engine.architectures.scratch import build_vgg16

    model = build_vgg16((64, 64, 3), 5, width=0.25)
    assert model.get_layer("block1_conv1").filters == 16
    assert model.get_layer("fc1").units == 1024  # 4096 × 0.25 for inputs of 64 px and more


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("name", ["mlp", "cifar_cnn"])
def test_each_activation_builds(name, activation):
    model = build_model(ArchOptions(name=name, activation=activation, batchnorm=True), (8, 8, 1), 2)
    act = model.get_layer("act_1")
    if activation == "leaky_relu":
        assert type(act).__name__ == "LeakyReLU"
    else:
        assert act.activation.__name__ == {"swish": "silu"}.get(activation, activation)
    model(np.zeros((1, 8, 8, 1), "float32"))


@pytest.mark.parametrize("name", SCRATCH)
def test_names_are_stable(name):
    # Names must not depend on what was built before in the session (configs store them).
    first = [layer.name for layer in build_model(ArchOptions(name=name), (16, 16, 3), 4).layers]
    keras.layers.Dense(3)  # bump Keras' automatic name counters
    keras.layers.Conv2D(3, 3)
    second = [layer.name for layer in build_model(ArchOptions(name=name), (16, 16, 3), 4).layers]
    assert first == second
    assert len(set(first)) == len(first)


def test_errors():
    with pytest.raises(ArchitectureError, match="unknown architecture 'lenet'"):
        build_model(ArchOptions(name="lenet"), (8, 8, 1), 10)
    with pytest.raises(ArchitectureError, match="at least 2 classes"):
        build_model(ArchOptions(name="mlp"), (8, 8, 1), 1)
    with pytest.raises(ArchitectureError, match="4 channels"):
        build_model(ArchOptions(name="mlp"), (8, 8, 4), 10)
    with pytest.raises(ArchitectureError, match="empty side"):
        build_model(ArchOptions(name="mlp"), (0, 8, 1), 10)
    with pytest.raises(ArchitectureError, match="million weights"):
        build_model(ArchOptions(name="mlp"), (1024, 1024, 3), 10)


def test_mixed_precision_output_is_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model(ArchOptions(name="bn_cnn"), (8, 8, 1), 3)
        assert model.get_layer("conv_1").compute_dtype == "float16"
        assert keras.backend.standardize_dtype(model(np.zeros((1, 8, 8, 1), "float32")).dtype) == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", SCRATCH)
def test_safe_mode_round_trip(name, tmp_path):
    shape = (8, 8, 1) if name != "vgg16" else (16, 16, 3)
    model = build_model(ArchOptions(name=name, batchnorm=True), shape, 3)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).uniform(0, 255, (4, *shape)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.name == name


def test_batchnorm_statistics_settle_within_tens_of_steps() -> None:
    """LayerLab's data sets are small: BN's moving statistics must catch up within a few dozen
    steps (momentum 0.9), or validation runs on the initial statistics and looks wrongly bad."""
    import keras

    from engine.architectures import build_model
    from engine.config import ArchOptions

    for name in ("mlp", "bn_cnn", "cifar_cnn", "vgg16"):
        model = build_model(ArchOptions(name=name, batchnorm=True), (32, 32, 3), 3)
        momenta = {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
        assert momenta == {0.9}, (name, momenta)
