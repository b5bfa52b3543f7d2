"""ImageNet backbones: built with random weights on small inputs (no network here), flattened
into the model, frozen as configured, preprocessing inside the model, and the weights path:
a notop file in a temporary Keras cache is loaded, a missing one gives the offline message."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from engine.architectures import build_model
from engine.config import ArchOptions
from engine.core.errors import ArchitectureError

keras = pytest.importorskip("keras")
from engine.architectures import backbones, weights
from engine.architectures.layers import apply_freezing, layer_table, param_counts
from engine.architectures.preprocessing import ImagenetPreprocess

BACKBONES = ["vgg16_imagenet", "resnet50", "mobilenet_v2", "inception_v3", "efficientnet_b0"]
FIRST_BASE_LAYER = {
    "vgg16_imagenet": "block1_conv1",
    "resnet50": "conv1_conv",
    "mobilenet_v2": "Conv1",
    "inception_v3": "stem_conv2d_1",
    "efficientnet_b0": "stem_conv",
}


def options(name: str, **kw) -> ArchOptions:
    return ArchOptions(name=name, weights="none", **kw)


def base_with_weights(model) -> list:
    return [
        layer
        for layer in model.layers
        if layer.weights and not layer.name.startswith("head_") and layer.name != "predictions"
    ]


@pytest.mark.parametrize("name", BACKBONES)
def test_builds_flat_and_frozen(name):
    for shape in [(32, 32, 3), (8, 8, 1)]:
        model = build_model(options(name), shape, 5)
        assert model.name == name and model.input_shape == (None, *shape) and model.output_shape == (None, 5)
        names = [layer.name for layer in model.layers]
        assert not any(isinstance(layer, keras.Model) for layer in model.layers)  # flattened
        assert FIRST_BASE_LAYER[name] in names
        assert names[-5:] == ["head_pool", "head_dense", "head_act", "head_dropout", "predictions"]
        assert len(set(names)) == len(names)
        assert all(not layer.trainable for layer in base_with_weights(model))
        assert model.get_layer("head_dense").trainable and model.get_layer("predictions").trainable
        assert model.get_layer("predictions").dtype_policy.name == "float32"
        blocks = {row.block for row in layer_table(model)}
        assert None not in blocks and {"input", "head"} <= blocks
        if shape[2] == 1:
            assert "to_rgb" in names and "resize" in names  # 8 px < min side
    out = model(np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 1)).astype("float32"))
    np.testing.assert_allclose(np.sum(np.asarray(out), axis=1), 1.0, rtol=1e-5)


def test_input_adaptation():
    model = build_model(options("inception_v3"), (64, 100, 3), 3)
    assert model.get_layer("resize").output.shape[1:3] == (75, 100)  # only the short side grows
    model = build_model(options("mobilenet_v2"), (40, 40, 3), 3)
    names = [layer.name for layer in model.layers]
    assert "resize" not in names and "to_rgb" not in names and model.get_layer("preprocess").mode == "tf"
    assert "preprocess" not in [layer.name for layer in build_model(options("efficientnet_b0"), (32, 32, 3), 3).layers]


def test_names_are_stable_across_builds():
    first = [layer.name for layer in build_model(options("efficientnet_b0"), (32, 32, 3), 3).layers]
    keras.layers.Rescaling(2.0)  # bump Keras' automatic name counters
    second = [layer.name for layer in build_model(options("efficientnet_b0"), (32, 32, 3), 3).layers]
    assert first == second and "stem_rescaling_1" in first and "stem_normalization_1" in first


def test_head_options():
    model = build_model(
        options("mobilenet_v2", pooling="flatten", head_units=32, batchnorm=True, dropout=False, activation="elu"),
        (32, 32, 3),
        4,
    )
    names = [layer.name for layer in model.layers]
    assert names[-5:] == ["head_flatten", "head_dense", "head_bn", "head_act", "predictions"]
    assert model.get_layer("head_dense").units == 32


def test_fine_tune_last_and_unfrozen_base():
    model = build_model(options("mobilenet_v2", fine_tune_last=4), (32, 32, 3), 3)
    base = base_with_weights(model)
    assert [layer.trainable for layer in base][-4:] == [True] * 4
    assert not any(layer.trainable for layer in base[:-4])
    free = build_model(options("mobilenet_v2", freeze_base=False), (32, 32, 3), 3)
    assert all(layer.trainable for layer in base_with_weights(free))
    trainable, frozen = param_counts(free)
    assert trainable + frozen == free.count_params()


def test_frozen_base_batchnorm_keeps_statistics():
    model = build_model(options("mobilenet_v2"), (32, 32, 3), 3)
    bn = model.get_layer("bn_Conv1")
    before = np.array(bn.moving_mean)
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(model(x, training=True)), np.asarray(model(x, training=False)), rtol=1e-4, atol=1e-5
    )  # head dropout is the only training-mode layer: turn it off
    np.testing.assert_array_equal(np.array(bn.moving_mean), before)
    apply_freezing(model, {"bn_Conv1": True}, None)
    model(x, training=True)
    assert not np.allclose(np.array(bn.moving_mean), before)


def test_preprocess_layer_matches_keras():
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    cases = {
        "caffe": keras.applications.vgg16.preprocess_input,
        "tf": keras.applications.mobilenet_v2.preprocess_input,
        "torch": lambda a: keras.applications.imagenet_utils.preprocess_input(a, mode="torch"),
    }
    for mode, reference in cases.items():
        ours = np.asarray(ImagenetPreprocess(mode)(x))
        np.testing.assert_allclose(ours, reference(x.copy()), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(ImagenetPreprocess("none")(x)), x)
    assert keras.applications.resnet50.preprocess_input(x.copy()).mean() == pytest.approx(
        np.asarray(ImagenetPreprocess(backbones.SPECS["resnet50"].preprocess)(x)).mean(), rel=1e-5
    )
    assert keras.applications.inception_v3.preprocess_input(x.copy()).max() == pytest.approx(
        np.asarray(ImagenetPreprocess(backbones.SPECS["inception_v3"].preprocess)(x)).max(), rel=1e-5
    )
    with pytest.raises(ValueError, match="unknown preprocessing mode"):
        ImagenetPreprocess("bgr")


@pytest.mark.parametrize("name,shape", [("mobilenet_v2", (8, 8, 1)), ("efficientnet_b0", (32, 32, 3))])
def test_safe_mode_round_trip(name, shape, tmp_path):
    model = build_model(options(name, fine_tune_last=2, batchnorm=True), shape, 3)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(1).uniform(0, 255, (2, *shape)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [layer.trainable for layer in loaded.layers] == [layer.trainable for layer in model.layers]


def test_weight_file_names_match_keras_source():
    source = {
        name: inspect.getsource(getattr(keras.src.applications, module))
        for name, module in [
            ("vgg16_imagenet", "vgg16"),
            ("resnet50", "resnet"),
            ("mobilenet_v2", "mobilenet_v2"),
            ("inception_v3", "inception_v3"),
            ("efficientnet_b0", "efficientnet"),
        ]
    }
    for name, text in source.items():
        wf = weights.imagenet_file(name, 224)
        if name == "mobilenet_v2":
            assert wf.file_name == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
            assert "_no_top.h5" in text and "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_" in text
        elif name in ("resnet50", "efficientnet_b0"):
            assert wf.file_hash in text
        else:
            assert wf.file_name in text and wf.file_hash in text
        assert wf.url.endswith(wf.file_name)
    assert weights.imagenet_file("mobilenet_v2", 96).file_name.endswith("1.0_96_no_top.h5")
    assert weights.imagenet_file("mobilenet_v2", 32).file_name.endswith("1.0_224_no_top.h5")


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    """A temporary Keras cache: Keras reads $KERAS_HOME once at import, so patch its value."""
    import keras.src.backend.config as keras_config

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    return tmp_path


def test_imagenet_weights_load_from_keras_cache(keras_home):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    reference = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3), alpha=1.0)
    target = keras_home / "models" / weights.imagenet_file("mobilenet_v2", 32).file_name
    target.parent.mkdir(parents=True)
    with h5py.File(target, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    assert weights.keras_cache_dir() == target.parent

    keras3_file = keras_home / "mine.weights.h5"  # the Keras 3 format works as a path too
    reference.save_weights(keras3_file)
    for choice in ("imagenet", str(target), str(keras3_file)):
        model = build_model(ArchOptions(name="mobilenet_v2", weights=choice), (16, 16, 1), 3)
        for layer_name in ("Conv1", "block_16_project", "Conv_1_bn"):
            for ours, theirs in zip(model.get_layer(layer_name).weights, reference.get_layer(layer_name).weights):
                np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_offline_message(keras_home, monkeypatch):
    calls = []

    def offline(*args, **kwargs):
        calls.append(args)
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(ArchitectureError) as err:
        build_model(ArchOptions(name="mobilenet_v2", weights="imagenet"), (32, 32, 3), 3)
    message = str(err.value)
    assert "ImageNet weights for mobilenet_v2 are not downloaded" in message
    assert (
        f"put mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5 in {keras_home / 'models'}/" in message
    )
    assert "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/" in message
    assert "choose weights: none" in message and "\n" not in message
    assert len(calls) == 1


def test_bad_weights_file(tmp_path):
    with pytest.raises(ArchitectureError, match="does not exist"):
        build_model(ArchOptions(name="resnet50", weights=str(tmp_path / "nope.h5")), (32, 32, 3), 3)
    wrong = tmp_path / "wrong.weights.h5"
    build_model(options("mobilenet_v2"), (32, 32, 3), 3).save_weights(wrong)  # a whole model, not a notop base
    with pytest.raises(ArchitectureError, match="cannot build vgg16_imagenet with weights"):
        build_model(ArchOptions(name="vgg16_imagenet", weights=str(wrong)), (32, 32, 3), 3)


def test_custom_objects_registered():
    import engine.architectures as architectures

    objects = architectures.custom_objects()
    assert objects["layerlab>ImagenetPreprocess"] is ImagenetPreprocess
    assert keras.saving.get_registered_object("layerlab>ImagenetPreprocess") is ImagenetPreprocess


@pytest.mark.slow
def test_fresh_process_loads_a_backbone_model(tmp_path):
    """A new process reads a saved backbone model once LayerLab's layers are registered: either
    by importing engine.architectures after Keras, or by calling custom_objects()."""
    import subprocess
    import sys

    path = tmp_path / "model.keras"
    build_model(options("mobilenet_v2"), (8, 8, 1), 3).save(path)
    code = (
        "import sys, engine.architectures as a; import keras; a.custom_objects(); "
        f"m = keras.saving.load_model({str(path)!r}, safe_mode=True); "
        "print(m.get_layer('preprocess').mode)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("tf")
