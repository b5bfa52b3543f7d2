"""Published .h5 weights into LayerLab models by layer name and shape (the VGG16 lesson):
both HDF5 layouts, VGG16's caffe input scaling folded into the scratch preset's first
convolution, and a clear refusal when nothing matches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config import ArchOptions, ExperimentConfig
from engine.core.errors import ConfigError

keras = pytest.importorskip("keras")
import h5py
from keras.src.legacy.saving import legacy_h5_format

from engine.architectures import build_model
from engine.architectures.h5_weights import copy_h5_weights, fold_caffe_preprocessing, read_h5_weights


@pytest.fixture(scope="module")
def keras_vgg16():
    keras.utils.set_random_seed(3)
    return keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))


def save_legacy(model, path: Path) -> Path:
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def interior(a: np.ndarray) -> np.ndarray:
    return a[:, 1:-1, 1:-1, :]


def test_vgg16_imagenet_layout_loads_into_the_scratch_preset(keras_vgg16, tmp_path: Path) -> None:
    path = save_legacy(keras_vgg16, tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert len(read_h5_weights(path)) == 13
    model = build_model(ArchOptions(name="vgg16", dropout=False), (32, 32, 3), 10)
    note = copy_h5_weights(model, path)
    assert note.startswith("started from 13 layers of vgg16_weights") and "folded into block1_conv1" in note
    for name in ("block2_conv1", "block5_conv3"):
        for ours, theirs in zip(model.get_layer(name).get_weights(), keras_vgg16.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    # The first convolution computes on 0..1 RGB what the original computed on caffe inputs.
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    ours = np.asarray(keras.Model(model.inputs, model.get_layer("block1_act1").output)(pixels))
    caffe = keras.applications.vgg16.preprocess_input(pixels.copy())
    theirs = np.asarray(keras.Model(keras_vgg16.inputs, keras_vgg16.get_layer("block1_conv1").output)(caffe))
    np.testing.assert_allclose(interior(ours), interior(theirs), rtol=1e-3, atol=1e-2)


def test_grey_inputs_sum_the_colour_kernels(keras_vgg16) -> None:
    kernel, bias = keras_vgg16.get_layer("block1_conv1").get_weights()
    grey_kernel, grey_bias = fold_caffe_preprocessing(kernel, bias, channels=1)
    grey = np.random.default_rng(1).uniform(0, 255, (1, 32, 32, 1)).astype("float32")
    conv = keras.layers.Conv2D(64, 3, padding="same", activation="relu")
    conv.build((None, 32, 32, 1))
    conv.set_weights([grey_kernel, grey_bias])
    ours = np.asarray(conv(grey / 255.0))
    caffe = keras.applications.vgg16.preprocess_input(np.repeat(grey, 3, axis=-1))
    theirs = np.asarray(keras.Model(keras_vgg16.inputs, keras_vgg16.get_layer("block1_conv1").output)(caffe))
    np.testing.assert_allclose(interior(ours), interior(theirs), rtol=1e-3, atol=1e-2)


def test_layers_match_by_name_and_shape_and_keras3_files_are_refused(tmp_path: Path) -> None:
    source = build_model(ArchOptions(name="bn_cnn", batchnorm=True), (8, 8, 1), 10)
    path = save_legacy(source, tmp_path / "bn_cnn.h5")
    target = build_model(ArchOptions(name="bn_cnn", batchnorm=True), (8, 8, 1), 4)  # another head
    note = copy_h5_weights(target, path)
    with_weights = [layer for layer in target.layers if layer.weights]
    assert note == f"started from {len(with_weights) - 1} layers of bn_cnn.h5"  # all but "predictions"
    np.testing.assert_array_equal(
        target.get_layer("conv_3").get_weights()[0], source.get_layer("conv_3").get_weights()[0]
    )
    with pytest.raises(ConfigError, match="no layer of"):
        copy_h5_weights(build_model(ArchOptions(name="mlp"), (8, 8, 1), 10), path)
    source.save_weights(tmp_path / "mine.weights.h5")
    with pytest.raises(ConfigError, match="by position, not by name"):
        copy_h5_weights(target, tmp_path / "mine.weights.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ConfigError, match="not a readable HDF5"):
        copy_h5_weights(target, tmp_path / "junk.h5")


def test_init_from_an_h5_file_in_a_training(tmp_path: Path) -> None:
    from engine.core.events import Started
    from engine.training.trainer import train

    source = build_model(ArchOptions(name="bn_cnn", batchnorm=True), (8, 8, 1), 10)
    path = save_legacy(source, tmp_path / "published.h5")
    config = ExperimentConfig().updated(
        **{"arch.name": "bn_cnn", "arch.batchnorm": True, "data.limit": 100, "training.epochs": 1}, init_from=str(path)
    )
    events: list = []
    result = train(config, events.append, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    started = next(e for e in events if isinstance(e, Started))
    assert "started from 11 layers of published.h5" in started.note
