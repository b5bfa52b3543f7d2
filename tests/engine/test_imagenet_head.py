"""The ImageNet networks with their own heads: class names from Keras's index file and
with-top weights read from a temporary Keras cache (written here, never downloaded), a photo
classified through LayerLab's preprocessing with top-5 names, and offline messages that say
what to put where."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.errors import ArchitectureError

keras = pytest.importorskip("keras")
from engine.inference import imagenet as imagenet_head
from engine.inference.imagenet import (
    CLASS_INDEX_FILE,
    ImagenetClassifier,
    imagenet_class_names,
    input_size,
    missing_files,
    top_weights_file,
)


@pytest.fixture
def keras_home(tmp_path, monkeypatch) -> Path:
    """A temporary Keras cache (Keras reads $KERAS_HOME once at import: patch its value too);
    downloads fail at once."""
    import keras.src.backend.config as keras_config

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    (tmp_path / "models").mkdir()
    return tmp_path / "models"


def write_class_index(folder: Path) -> None:
    index = {str(i): [f"n{i:08d}", f"class_{i}_name"] for i in range(1000)}
    (folder / CLASS_INDEX_FILE).write_text(json.dumps(index))


def write_top_weights(folder: Path, side: int) -> keras.Model:
    """A MobileNetV2 with its 1000-class top and random weights, saved where Keras keeps the
    published file (the legacy HDF5 layout of the real download)."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(1)
    reference = keras.applications.MobileNetV2(include_top=True, weights=None, input_shape=(side, side, 3))
    with h5py.File(folder / top_weights_file("mobilenet_v2", side).file_name, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, reference)
    return reference


def test_a_photo_gets_top5_imagenet_names_through_layerlabs_preprocessing(keras_home: Path, tmp_path: Path) -> None:
    write_class_index(keras_home)
    reference = write_top_weights(keras_home, 96)
    classifier = ImagenetClassifier("mobilenet_v2", image_size=96)
    assert len(classifier.class_names) == 1000 and classifier.class_names[3] == "class 3 name"
    assert (classifier.spec.height, classifier.spec.width, classifier.spec.channels) == (96, 96, 3)
    photo = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)).save(photo)
    prediction = classifier.classify(photo, top_k=5)
    assert len(prediction.top) == 5 and all(name.startswith("class ") for name, _ in prediction.top)
    expected = np.asarray(reference(keras.applications.mobilenet_v2.preprocess_input(prediction.input[None].copy())))[0]
    np.testing.assert_allclose(prediction.probabilities, expected, rtol=1e-3, atol=1e-5)
    best = np.argsort(expected)[::-1][:5]
    assert [name for name, _ in prediction.top] == [f"class {i} name" for i in best]


def test_offline_messages_name_the_file_the_address_and_the_folder(keras_home: Path) -> None:
    assert len(missing_files("resnet50")) == 2
    with pytest.raises(ArchitectureError) as err:
        imagenet_class_names()
    message = str(err.value)
    assert CLASS_INDEX_FILE in message and str(keras_home) in message and "download.tensorflow.org" in message
    write_class_index(keras_home)
    assert imagenet_class_names()[0] == "class 0 name"
    [weights_missing] = missing_files("resnet50")
    with pytest.raises(ArchitectureError) as err:
        ImagenetClassifier("resnet50")
    assert str(err.value) == weights_missing.replace(
        "not downloaded", "not downloaded and could not be fetched (no network?)"
    )
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in weights_missing and str(keras_home) in weights_missing
    assert "\n" not in weights_missing


def test_a_damaged_class_index_is_named(keras_home: Path) -> None:
    (keras_home / CLASS_INDEX_FILE).write_text(json.dumps({"0": ["n0", "tench"]}))
    with pytest.raises(ArchitectureError, match="not Keras's ImageNet class index"):
        imagenet_class_names()


def test_sizes_and_file_names_match_keras() -> None:
    assert input_size("inception_v3") == 299 and input_size("mobilenet_v2", 128) == 128
    with pytest.raises(ArchitectureError, match="224"):
        input_size("vgg16_imagenet", 96)
    with pytest.raises(ArchitectureError, match="not an ImageNet network"):
        input_size("mlp")
    sources = {
        "vgg16_imagenet": "vgg16",
        "resnet50": "resnet",
        "inception_v3": "inception_v3",
        "efficientnet_b0": "efficientnet",
        "mobilenet_v2": "mobilenet_v2",
    }
    for arch, module in sources.items():
        text = inspect.getsource(getattr(keras.src.applications, module))
        wf = top_weights_file(arch, 224)
        assert wf.url.endswith(wf.file_name)
        if wf.file_hash:
            assert wf.file_hash in text
        assert (wf.file_name in text) or arch in ("resnet50", "efficientnet_b0", "mobilenet_v2")
    assert imagenet_head.CLASS_INDEX_HASH in inspect.getsource(keras.src.applications.imagenet_utils)
    assert imagenet_head.CLASS_INDEX_URL.replace("https://storage.googleapis.com/", "") in inspect.getsource(
        keras.src.applications.imagenet_utils
    ).replace('"\n    "', "")
