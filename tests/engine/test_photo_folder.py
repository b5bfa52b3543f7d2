"""End to end on real photographs: a class folder of JPEGs of mixed sizes (and a GIF, a PNG and a
broken file among them) trains, and new photos are classified, through the CLI as a user would.

The photos are crops of the two real photographs scikit-learn ships (a temple in China and a
flower), so the test needs no download.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli import main


def _crops(photo: np.ndarray, count: int, rng: np.random.Generator) -> list[Image.Image]:
    height, width, _ = photo.shape
    crops = []
    for _ in range(count):
        side_h, side_w = int(rng.integers(120, 300)), int(rng.integers(120, 300))
        top, left = int(rng.integers(0, height - side_h)), int(rng.integers(0, width - side_w))
        crop = Image.fromarray(photo[top : top + side_h, left : left + side_w])
        scale = rng.uniform(0.5, 1.5)
        crops.append(crop.resize((max(16, int(side_w * scale)), max(16, int(side_h * scale)))))
    return crops


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> tuple[Path, list[Path]]:
    from sklearn.datasets import load_sample_images

    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    held_out = []
    for name, photo in zip(("temple", "flower"), load_sample_images().images):
        folder = root / "all" / name
        folder.mkdir(parents=True)
        crops = _crops(photo, 44, rng)
        for i, crop in enumerate(crops[:40]):
            crop.save(folder / f"{name}_{i:02d}.jpg", quality=int(rng.integers(60, 95)))
        crops[40].save(folder / f"{name}_anim.gif", save_all=True, append_images=[crops[40].rotate(10)])
        crops[41].save(folder / f"{name}_still.png")
        (folder / f"{name}_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
        for j, crop in enumerate(crops[42:]):
            held_out.append(root / f"new_{name}_{j}.jpg")
            crop.save(held_out[-1])
    return root / "all", held_out


@pytest.mark.slow
def test_a_real_photo_folder_trains_and_classifies(photo_folder, tmp_path: Path, capsys) -> None:
    folder, new_photos = photo_folder
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--dataset",
            f"folder:{folder}",
            "--arch",
            "naive_cnn",
            "--image-size",
            "48",
            "--epochs",
            "8",
            "--batch-size",
            "16",
            "--out",
            str(run),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["val_accuracy"] >= 0.8, result
    metrics = json.loads((run / "metrics.json").read_text())
    for wrong in metrics["misclassified"]:
        assert Path(wrong["source"]).is_file()  # errors point at the user's own files
    code = main(["classify", str(run), *map(str, new_photos), "--top", "2", "--json"])
    out, _ = capsys.readouterr()
    entries = json.loads(out)
    assert code == 0 and len(entries) == len(new_photos)
    right = sum(e["top"][0]["label"] in Path(e["path"]).name for e in entries)
    assert right >= len(new_photos) - 1, entries


def test_the_broken_files_are_skipped_and_reported(photo_folder) -> None:
    from engine.config import DataOptions
    from engine.datasets import load_dataset

    dataset = load_dataset(DataOptions(name=f"folder:{photo_folder[0]}", image_size=48))
    assert sorted(Path(p).name for p, _ in dataset.skipped) == ["flower_broken.jpg", "temple_broken.jpg"]
    assert dataset.counts()["train"] + dataset.counts()["validation"] == 2 * 42
    assert dataset.input_shape == (48, 48, 3) and dataset.class_names == ["flower", "temple"]


def test_cli_reports_skipped_files(photo_folder, tmp_path: Path, capsys) -> None:
    folder, _ = photo_folder
    code = main(
        [
            "train",
            "--dataset",
            f"folder:{folder}",
            "--arch",
            "mlp",
            "--image-size",
            "16",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "r"),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert "skipped 2 file(s)" in err and "broken.jpg" in err
    assert sorted(Path(s["path"]).name for s in json.loads(out)["skipped_files"]) == [
        "flower_broken.jpg",
        "temple_broken.jpg",
    ]


@pytest.fixture
def imagenet_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MobileNetV2's ImageNet weights file placed in a temporary Keras cache, as Keras would have
    downloaded it (random contents, the real name and layout): a frozen base needs weights, and
    none can be fetched offline. Any download fails at once."""
    import keras
    import keras.src.backend.config as keras_config
    from keras.src.utils import file_utils

    from tests.engine import keras_cache

    def offline(*args, **kwargs):
        raise OSError("no network in tests")

    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(home))  # Keras read $KERAS_HOME at import
    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    monkeypatch.setattr(keras.utils, "get_file", lambda *a, **k: offline())
    return keras_cache.fake_mobilenet_v2(home / "models", include_top=False)


@pytest.mark.slow
def test_transfer_learning_workflow_on_photos(photo_folder, imagenet_weights: Path, tmp_path: Path, capsys) -> None:
    """Frozen backbone + new head (on cached features), then staged fine-tuning with
    augmentation starting from that run, then classification with the backbone's preprocessing.
    The ImageNet weights are a file placed in the Keras cache (see `imagenet_weights`)."""
    folder, new_photos = photo_folder
    common = [
        "--dataset",
        f"folder:{folder}",
        "--arch",
        "mobilenet_v2",
        "--weights",
        "imagenet",
        "--image-size",
        "32",
        "--batch-size",
        "16",
        "--json",
    ]
    code = main(["train", *common, "--epochs", "2", "--out", str(tmp_path / "head")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["feature_cache"] is True and "on cached features" in err
    code = main(
        [
            "train",
            *common,
            "--init-from",
            str(tmp_path / "head"),
            "--epochs",
            "1",
            "--stage2-epochs",
            "1",
            "--stage2-unfreeze",
            "5",
            "--flip",
            "horizontal",
            "--zoom",
            "0.1",
            "--out",
            str(tmp_path / "tuned"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    tuned = json.loads(out)
    assert tuned["epochs_run"] == 2 and tuned["feature_cache"] is False
    assert "stage 2: fine-tuning" in err and "started from" in err
    history = json.loads((tmp_path / "tuned" / "history.json").read_text())
    assert [e["stage"] for e in history] == [1, 2]
    code = main(["classify", str(tmp_path / "tuned"), str(new_photos[0]), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)[0]["top"][0]["label"] in ("flower", "temple")
