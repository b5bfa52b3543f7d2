"""Model files: LayerLab's own models pass every check before Keras (no false alarm), and the
checks cover the classes LayerLab registers."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ArchOptions
from engine.core.errors import RunError
from engine.runs.models import TRUSTED_MODULES, check_keras_archive, check_model_matches, load_model_file

keras = pytest.importorskip("keras")
from engine.architectures import build_model, custom_objects
from engine.images.spec import PreprocessSpec


@pytest.mark.parametrize(
    "options, shape",
    [
        (ArchOptions(name="mlp", activation="swish", batchnorm=True), (8, 8, 1)),
        (ArchOptions(name="naive_cnn", activation="leaky_relu"), (16, 16, 3)),
        (ArchOptions(name="bn_cnn", batchnorm=True), (16, 16, 1)),
        (ArchOptions(name="cifar_cnn", activation="elu", dropout=False), (16, 16, 3)),
        (ArchOptions(name="mobilenet_v2", weights="none", head_units=8), (32, 32, 3)),
    ],
    ids=["mlp", "naive_cnn", "bn_cnn", "cifar_cnn", "mobilenet_v2"],
)
def test_layerlab_models_pass_the_checks_and_load(
    tmp_path: Path, options: ArchOptions, shape: tuple[int, int, int]
) -> None:
    model = build_model(options, shape, 4)
    path = tmp_path / "model.keras"
    model.save(path)
    assert check_keras_archive(path)["class_name"] == "Functional"
    loaded = load_model_file(path)
    check_model_matches(
        loaded, PreprocessSpec(height=shape[0], width=shape[1], channels=shape[2]), ["a", "b", "c", "d"]
    )
    with pytest.raises(RunError, match="4 outputs but 3 class names"):
        check_model_matches(loaded, PreprocessSpec(height=shape[0], width=shape[1], channels=shape[2]), ["a", "b", "c"])


def test_registered_layers_come_from_trusted_modules() -> None:
    for cls in custom_objects().values():
        assert cls.__module__.startswith(TRUSTED_MODULES), cls


def test_a_directory_or_another_suffix_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="folder"):
        load_model_file(tmp_path)
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(RunError, match=".keras files only"):
        load_model_file(tmp_path / "weights.h5")
