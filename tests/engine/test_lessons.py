"""The classic lessons: the recipes, what they need offline, their fallbacks, and every
lesson run from `layerlab-cli lesson` on tiny data: the Keras dataset and weights loaders read
files written into a temporary cache (never downloaded), one epoch, small images."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest

from engine.cli import main
from engine.core.errors import ConfigError
from engine.lessons import fallback_lesson, get_lesson, lesson_available, list_lessons
from tests.engine import keras_cache

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "mlp_mnist",
    "naive_vs_bn_cnn",
    "cifar_cnn_augmentation",
    "overfitting_regularisation",
    "vgg16_scratch",
    "imagenet_models",
    "transfer_fine_tune",
    "precomputed_features",
    "capsnet_mnist",
    "denoising_autoencoder",
]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras cache (`datasets/` and `models/`); every download fails at once."""
    import keras
    import keras.src.backend.config as keras_config
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    home = tmp_path / "keras_home"
    (home / "datasets").mkdir(parents=True)
    (home / "models").mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))  # Keras read $KERAS_HOME at import
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: offline())
    return home


def lesson_json(capsys, *args: str) -> dict:
    code = main(["lesson", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    return json.loads(out)


# --- the recipes ---------------------------------------------------------------------------------
def test_the_ten_lessons_and_their_recipes() -> None:
    lessons = list_lessons()
    assert [lesson.name for lesson in lessons] == NAMES
    for lesson in lessons:
        assert (lesson.config is None) != (lesson.grid is None), lesson.name
        assert lesson.note.count(". ") + 1 in (2, 3, 4) and lesson.published and lesson.title
        assert lesson.kind in ("train", "grid", "imagenet", "autoencoder", "two_stage")
        assert (lesson.grid is not None) == (lesson.kind == "grid")
        assert lesson.fallback in ("digits", "shapes") or lesson.kind == "imagenet"
    mlp = get_lesson("mlp_mnist").config
    assert (
        mlp.arch.name,
        mlp.arch.dropout_rate,
        mlp.training.optimizer,
        mlp.training.batch_size,
        mlp.training.epochs,
    ) == ("mlp", 0.5, "rmsprop", 256, 20)
    assert "98.07 %" in get_lesson("mlp_mnist").published
    assert [f.key for f in get_lesson("overfitting_regularisation").grid.factors] == ["arch.dropout", "arch.batchnorm"]
    assert get_lesson("naive_vs_bn_cnn").grid.factors[0].values == ("naive_cnn", "bn_cnn")
    assert get_lesson("capsnet_mnist").config.arch.name == "capsnet"
    assert get_lesson("denoising_autoencoder").config.task == "autoencoder"
    assert get_lesson("transfer_fine_tune").config.training.stage2_epochs > 0
    with pytest.raises(ConfigError, match="mlp_mnist, naive_vs_bn_cnn"):
        get_lesson("nope")


def test_availability_says_what_to_download_and_where(cache: Path) -> None:
    ok, why = lesson_available(get_lesson("mlp_mnist"))
    assert not ok and "mnist.npz" in why and str(cache / "datasets") in why and "digits instead" in why
    keras_cache.fake_mnist(cache / "datasets")
    assert lesson_available(get_lesson("mlp_mnist")) == (True, "")
    ok, why = lesson_available(get_lesson("imagenet_models"))
    assert not ok and "imagenet_class_index.json" in why and "_1.0_224.h5" in why and str(cache / "models") in why
    ok, why = lesson_available(get_lesson("transfer_fine_tune"))
    assert not ok and "folder:PATH" in why
    ok, why = lesson_available(get_lesson("transfer_fine_tune").with_data(f"folder:{cache}"))
    assert not ok and "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5" in why


def test_fallback_runs_on_embedded_data_and_says_the_figure_does_not_apply(cache: Path) -> None:
    lesson, note = fallback_lesson(get_lesson("precomputed_features"))
    base = lesson.grid.base
    assert base.data.name == "shapes" and base.data.image_size == 48 and base.arch.weights == "none"
    assert "does not apply" in note and "random weights" in note
    lesson, note = fallback_lesson(get_lesson("capsnet_mnist"))
    assert lesson.config.data.name == "digits" and lesson.config.data.validation == "split"
    with pytest.raises(ConfigError, match="cannot run without its files"):
        fallback_lesson(get_lesson("imagenet_models"))


# --- every lesson from the CLI, on tiny data -------------------------------------------------------
def test_offline_without_data_the_message_names_the_file_and_the_fallback(capsys, cache: Path) -> None:
    assert main(["lesson", "mlp_mnist", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "mnist.npz" in err and str(cache / "datasets") in err and "--fallback" in err and "Traceback" not in err
    assert main(["lesson", "transfer_fine_tune"]) == 2
    assert "folder:PATH" in capsys.readouterr().err
    data = lesson_json(capsys, "mlp_mnist", "--epochs", "1", "--fallback", "--set", "data.limit=100")
    assert data["fallback_used"] and "does not apply" in data["note"]
    assert data["rows"][0]["figures"]["val_accuracy"] is not None and "validation" in data["figure"]


@pytest.mark.slow
def test_mnist_lessons(capsys, cache: Path) -> None:
    keras_cache.fake_mnist(cache / "datasets")
    mlp = lesson_json(capsys, "mlp_mnist", "--epochs", "1")
    assert (
        not mlp["fallback_used"] and "test" in mlp["figure"] and mlp["rows"][0]["figures"]["test_accuracy"] is not None
    )
    config = json.loads((Path(mlp["run_dirs"][0]) / "config.json").read_text())
    assert config["data"]["name"] == "mnist" and config["training"]["optimizer"] == "rmsprop"
    grid = lesson_json(capsys, "overfitting_regularisation", "--epochs", "1")
    assert [row["label"] for row in grid["rows"]] == [
        "dropout off · bn off",
        "dropout off · bn on",
        "dropout 0.5 · bn off",
        "dropout 0.5 · bn on",
    ]
    assert all(row["figures"]["train_accuracy"] is not None for row in grid["rows"]) and grid["grid_dir"].endswith(
        "-overfitting_regularisation"
    )
    caps = lesson_json(capsys, "capsnet_mnist", "--epochs", "1")
    assert json.loads((Path(caps["run_dirs"][0]) / "config.json").read_text())["arch"]["name"] == "capsnet"
    autoencoder = lesson_json(capsys, "denoising_autoencoder", "--epochs", "1")
    figures = autoencoder["rows"][0]["figures"]
    assert figures["reconstruction_error"] > 0 and figures["noisy_input_error"] > 0
    assert "reconstruction error" in autoencoder["figure"]


@pytest.mark.slow
def test_cifar10_lessons(capsys, cache: Path) -> None:
    keras_cache.fake_cifar10(cache / "datasets")
    naive = lesson_json(capsys, "naive_vs_bn_cnn", "--epochs", "1")
    assert [row["label"] for row in naive["rows"]] == ["naive_cnn", "bn_cnn"] and "test" in naive["figure"]
    augmentation = lesson_json(capsys, "cifar_cnn_augmentation", "--epochs", "1")
    assert [row["label"] for row in augmentation["rows"]] == ["aug off", "aug on"]


@pytest.mark.slow
def test_vgg16_from_scratch_and_from_its_imagenet_weights(capsys, cache: Path) -> None:
    import keras

    keras_cache.fake_cifar10(cache / "datasets", per_batch=4)
    keras.utils.set_random_seed(2)
    published = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    two_blocks = keras.Model(
        published.inputs, published.get_layer("block2_pool").output
    )  # a small file of the right shapes
    keras_cache.legacy_weights(two_blocks, cache / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert main(["lesson", "vgg16_scratch", "--epochs", "1", "--imagenet-weights", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert "ImageNet weights" in data["note"] and "test" in data["figure"]
    assert "started from 4 layers of vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in err
    assert "folded into block1_conv1" in err
    config = json.loads((Path(data["run_dirs"][0]) / "config.json").read_text())
    assert config["init_from"].endswith("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_imagenet_models_classify_photos_with_their_own_head(capsys, cache: Path, tmp_path: Path) -> None:
    from PIL import Image

    keras_cache.fake_class_index(cache / "models")
    keras_cache.fake_mobilenet_v2(cache / "models", include_top=True, side=96)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (50, 40), (200, 120, 30)).save(photo)
    data = lesson_json(
        capsys,
        "imagenet_models",
        "--set",
        "data.image_size=96",
        "--image",
        str(photo),
        "--image",
        str(tmp_path / "missing.jpg"),
    )
    first, second = data["predictions"]
    assert first["source"] == str(photo) and len(first["top"]) == 5
    assert all(t["label"].startswith("class ") for t in first["top"]) and "error" in second
    assert data["figure"].startswith("mobilenet_v2: photo.png: class ")
    assert main(["lesson", "imagenet_models", "--backbone", "resnet50"]) == 2
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in capsys.readouterr().err


@pytest.mark.slow
def test_photo_lessons_on_a_three_class_folder(capsys, cache: Path, tmp_path: Path) -> None:
    folder = keras_cache.photo_folder(tmp_path / "photos")
    keras_cache.fake_mobilenet_v2(cache / "models", include_top=False)
    small = ["--set", "data.image_size=32", "--set", "training.batch_size=8"]
    staged = lesson_json(capsys, "transfer_fine_tune", "--dataset", f"folder:{folder}", "--epochs", "1", *small)
    assert [row["label"] for row in staged["rows"]] == [
        "new head on the frozen base",
        "after fine-tuning the last block",
    ]
    assert " → " in staged["figure"]
    history = json.loads((Path(staged["run_dirs"][0]) / "history.json").read_text())
    assert [entry["stage"] for entry in history] == [1, 2]
    features = lesson_json(
        capsys,
        "precomputed_features",
        "--dataset",
        f"folder:{folder}",
        "--epochs",
        "1",
        *small,
        "--set",
        "arch.name=mobilenet_v2",
    )
    assert [row["label"] for row in features["rows"]] == ["dropout 0.5", "dropout off"]
    metrics = json.loads((Path(features["run_dirs"][0]) / "metrics.json").read_text())
    assert metrics["feature_cache"] is True


def test_cli_lists_the_lessons_in_a_fresh_process(tmp_path: Path) -> None:
    env = {"KERAS_HOME": str(tmp_path), "LAYERLAB_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "engine.cli", "lessons", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    entries = json.loads(out.stdout)
    assert [e["name"] for e in entries] == NAMES
    assert set(entries[0]) == {
        "name",
        "title",
        "kind",
        "note",
        "published",
        "dataset_needed",
        "fallback",
        "available",
        "missing",
        "fast_recipe",
    }
    assert entries[0]["fast_recipe"] and not entries[-1]["fast_recipe"]  # mlp_mnist runs fast; the denoiser not
    assert not entries[0]["available"] and str(tmp_path / "datasets" / "mnist.npz") in entries[0]["missing"]
    text = subprocess.run(
        [sys.executable, "-m", "engine.cli", "lessons"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    ).stdout
    assert "MLP on MNIST" in text and "98.07 %" in text and "--fallback" in text
