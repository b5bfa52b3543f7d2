"""Autoencoders: both presets reproduce their input's shape from standard layers, the
autoencoder task trains through `train` with the usual events and run folder, a denoiser beats
its noisy inputs, and engine.inference.reconstruction reconstructs arrays and dropped images."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.config import ArchOptions, ExperimentConfig
from engine.core.errors import RunError
from engine.core.events import BatchEnd, EpochEnd, Failed, Finished, Started
from engine.inference.reconstruction import Reconstructor, add_noise, reconstruct

keras = pytest.importorskip("keras")
from engine.architectures import build_model
from engine.datasets import load_dataset
from engine.runs.models import check_keras_archive, load_model_file
from engine.training.trainer import train

AUTOENCODERS = ["dense_autoencoder", "conv_autoencoder"]


def config(**changes) -> ExperimentConfig:
    base = {
        "task": "autoencoder",
        "arch.name": "conv_autoencoder",
        "arch.noise": 0.5,
        "training.epochs": 2,
        "training.batch_size": 32,
        "data.limit": 300,
    }
    return ExperimentConfig().updated(**(base | changes))


@pytest.mark.parametrize("name", AUTOENCODERS)
@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (30, 18, 3)])
def test_output_is_an_image_of_the_input_shape(name, shape, tmp_path: Path) -> None:
    model = build_model(ArchOptions(name=name, latent_size=7), shape, 10)
    assert model.output_shape == (None, *shape) and model.layers[-1].name == "reconstruction"
    out = np.asarray(model(np.full((2, *shape), 128.0, np.float32)))
    assert ((out >= 0) & (out <= 1)).all()
    if name == "dense_autoencoder":
        assert model.get_layer("latent").units == 7
    path = tmp_path / "model.keras"
    model.save(path)
    text = json.dumps(check_keras_archive(path))
    assert "layerlab" not in text  # standard layers only
    np.testing.assert_allclose(
        np.asarray(load_model_file(path)(np.full((1, *shape), 9.0, np.float32))),
        np.asarray(model(np.full((1, *shape), 9.0, np.float32))),
        rtol=1e-5,
        atol=1e-6,
    )


def test_noise_is_gaussian_clipped_and_seeded() -> None:
    images = np.full((50, 8, 8, 1), 128.0, np.float32)
    noisy = add_noise(images, 0.2, seed=3)
    assert noisy.min() >= 0 and noisy.max() <= 255
    assert np.std(noisy - images) == pytest.approx(0.2 * 255, rel=0.05)
    np.testing.assert_array_equal(noisy, add_noise(images, 0.2, seed=3))
    np.testing.assert_array_equal(add_noise(images, 0.0), images)


@pytest.fixture(scope="module")
def digits():
    return load_dataset(config().data, seed=0)


def test_training_reports_reconstruction_loss_and_writes_a_run(digits, tmp_path: Path) -> None:
    events: list = []
    result = train(config(), events.append, dataset=digits, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished and kinds.count(EpochEnd) == 2 and BatchEnd in kinds
    assert "σ=0.5" in events[0].note and "mean squared error" in events[0].note
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert all(math.isnan(e.accuracy) and e.loss > 0 for e in batches)
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert all(math.isnan(e.accuracy) and math.isnan(e.val_accuracy) and e.val_loss > 0 for e in epochs)
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [entry["accuracy"] for entry in saved] == [None, None] and saved[1]["val_loss"] > 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["noise"] == 0.5 and metrics["val_accuracy"] is None
    assert metrics["val_loss"] == metrics["reconstruction_error"] == pytest.approx(epochs[-1].val_loss, rel=1e-4)
    assert metrics["noisy_input_error"] > 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["task"] == "autoencoder"
    with pytest.raises(RunError, match="not a classifier"):
        from engine.inference.classifier import Classifier

        Classifier.from_run(tmp_path / "run")


def test_a_denoiser_beats_its_noisy_inputs(digits, tmp_path: Path) -> None:
    result = train(config(**{"training.epochs": 6, "data.limit": None}), run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    m = result.metrics
    assert m.reconstruction_error < 0.7 * m.noisy_input_error, (m.reconstruction_error, m.noisy_input_error)
    # engine.inference.reconstruction reproduces the figure from the run folder, and reconstructs a dropped image
    reconstructor = Reconstructor.from_run(tmp_path / "run")
    assert reconstructor.noise == 0.5
    clean = result.dataset.x_val.astype(np.float32)
    noisy, reconstructed = reconstruct(tmp_path / "run", clean, seed=7)
    assert noisy.shape == reconstructed.shape == clean.shape
    assert np.mean((reconstructed - clean) ** 2) < np.mean((noisy - clean) ** 2)
    same, _ = reconstruct(result.model, clean[:3], noise=0.0)
    np.testing.assert_array_equal(same, clean[:3])
    photo = tmp_path / "four.png"
    Image.fromarray(result.dataset.x_val[0, ..., 0]).resize((64, 64)).save(photo)
    one = reconstructor.reconstruct_image(photo, noise=0.3)
    assert one.input.shape == one.noisy.shape == one.reconstructed.shape == (8, 8, 1)
    assert one.source == str(photo) and one.error < one.noisy_error


def test_task_and_architecture_must_agree(digits, tmp_path: Path) -> None:
    for changes, message in (
        ({"arch.name": "mlp"}, "needs an autoencoder architecture"),
        ({"task": "classification"}, "set the task to autoencoder"),
    ):
        events: list = []
        result = train(config(**changes), events.append, dataset=digits, run_dir=tmp_path / "r")
        assert result.failed and message in result.failed
        assert isinstance(events[-1], Failed) and events[-1].kind == "config"


def test_cli_trains_an_autoencoder(capsys, tmp_path: Path) -> None:
    from engine.cli import main

    code = main(
        [
            "train",
            "--task",
            "autoencoder",
            "--dataset",
            "digits",
            "--limit",
            "200",
            "--epochs",
            "1",
            "--noise",
            "0.3",
            "--out",
            str(tmp_path / "ae"),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["noise"] == 0.3 and data["reconstruction_error"] > 0 and data["noisy_input_error"] > 0
    assert data["val_accuracy"] is None and "epoch 1/1" in err
    assert json.loads((tmp_path / "ae" / "config.json").read_text())["arch"]["name"] == "conv_autoencoder"
    assert (
        main(
            [
                "train",
                "--task",
                "autoencoder",
                "--arch",
                "dense_autoencoder",
                "--latent-size",
                "8",
                "--dataset",
                "digits",
                "--limit",
                "100",
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "dense"),
            ]
        )
        == 0
    )
    assert "reconstruction_error" in capsys.readouterr().out
