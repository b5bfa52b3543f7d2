"""What a trained autoencoder does to images: noisy inputs and their reconstructions.

The window shows originals, noisy inputs and reconstructions side by side, and reconstructs a
dropped image; the CLI and tests do the same through here. An autoencoder run is an ordinary
run folder (engine.training.tasks) whose model maps 0..255 pixels to a 0..1 image of the
same shape. Noise is added here, never inside the model, with the same recipe as training
(Gaussian, std `noise` on the 0..1 scale, clipped), so a reconstruction can be shown with or
without it. Images come and go as float32 arrays (N, H, W, C) in 0..255, like the input of a
classifier; a dropped image is prepared with the run's own preprocessing (`engine.inference.classifier`).

Cheap to import: TensorFlow is imported when a model is loaded or run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.core.errors import ConfigError, RunError
from engine.core.memory import inference_batch
from engine.images.prepare import ImageSource, Placement, prepare
from engine.images.spec import PreprocessSpec
from engine.inference.classifier import resolve_run
from engine.runs.models import load_model_file
from engine.runtime.graphs import compiled_call


@dataclass(frozen=True)
class Reconstruction:
    """One image through the autoencoder, each array float32 (H, W, C) in 0..255."""

    source: str
    input: np.ndarray  # the image as the network's input size (before noise)
    noisy: np.ndarray  # what the network saw (== input when noise is 0)
    reconstructed: np.ndarray  # what it made of it
    error: float  # mean squared error (0..1 scale) of the reconstruction against `input`
    noisy_error: float  # the same for `noisy`
    placement: Placement | None = None


def add_noise(images: np.ndarray, noise: float, seed: int = 0) -> np.ndarray:
    """float32 images 0..255 with Gaussian noise of std `noise` (0..1 scale), clipped."""
    images = np.asarray(images, np.float32)
    if noise < 0:
        raise ConfigError(f"noise must be 0 or more, not {noise}")
    if noise == 0:
        return images.copy()
    rng = np.random.default_rng(seed)
    return np.clip(images + rng.normal(0.0, noise * 255.0, images.shape).astype(np.float32), 0.0, 255.0)


class Reconstructor:
    """An autoencoder model and the preprocessing of the data it was trained on."""

    def __init__(self, model: Any, spec: PreprocessSpec, noise: float = 0.0) -> None:
        check_autoencoder_model(model, spec)
        self.model = model
        self.spec = spec
        self.noise = float(noise)  # the strength it was trained with: the default for `reconstruct`
        self._forward: Any = None

    @classmethod
    def from_run(cls, path: str | Path) -> Reconstructor:
        """An autoencoder run folder (or its model.keras), loaded in safe mode; `RunError` for
        a run of another task."""

        run, model_path = resolve_run(path)
        if run.config.task != "autoencoder":
            raise RunError(f"{run.path.name} is a {run.config.task} run, not an autoencoder: classify with it instead")
        return cls(load_model_file(model_path), run.preprocess, noise=run.config.arch.noise)

    def reconstruct(
        self, images: np.ndarray, noise: float | None = None, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(noisy inputs, reconstructions), float32 (N, H, W, C) in 0..255, for images 0..255 of
        the model's input shape; `noise` defaults to the strength the model was trained with."""
        images = _batch(images, self.spec)
        noisy = add_noise(images, self.noise if noise is None else noise, seed)
        return noisy, self._outputs(noisy) * 255.0

    def reconstruct_image(self, source: ImageSource, noise: float | None = None, seed: int = 0) -> Reconstruction:
        """A dropped image (path, bytes, PIL image) prepared as the training data was, then
        noised and reconstructed."""
        prepared = prepare(source, self.spec)
        noisy, reconstructed = self.reconstruct(prepared.array[None], noise, seed)
        clean = prepared.array / 255.0
        return Reconstruction(
            _describe(source),
            prepared.array,
            noisy[0],
            reconstructed[0],
            float(np.mean((reconstructed[0] / 255.0 - clean) ** 2)),
            float(np.mean((noisy[0] / 255.0 - clean) ** 2)),
            prepared.placement,
        )

    def _outputs(self, batch: np.ndarray) -> np.ndarray:
        # TensorFlow: imported here, so importing this module stays cheap
        import tensorflow as tf

        if self._forward is None:
            self._forward = compiled_call(self.model)
        step = inference_batch(tuple(batch.shape[1:]))
        chunks = [
            np.asarray(self._forward(tf.constant(batch[i : i + step])), np.float32) for i in range(0, len(batch), step)
        ]
        return np.concatenate(chunks) if chunks else np.zeros_like(batch)


def reconstruct(
    run_or_model: Any,
    images: np.ndarray | Sequence[ImageSource],
    noise: float | None = None,
    *,
    spec: PreprocessSpec | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy inputs, reconstructions), float32 (N, H, W, C) 0..255. `run_or_model`: a run folder,
    its model.keras, a Keras model (then `spec` says the input size; by default its input shape)
    or a `Reconstructor`. `images`: an array 0..255 of the input shape, or image sources prepared
    with the run's preprocessing. `noise`: std on the 0..1 scale (default: the run's own, 0 for
    a bare model)."""
    reconstructor = _reconstructor(run_or_model, spec)
    if not isinstance(images, np.ndarray):
        images = (
            np.stack([prepare(source, reconstructor.spec).array for source in images])
            if len(images)
            else np.zeros(
                (0, reconstructor.spec.height, reconstructor.spec.width, reconstructor.spec.channels), np.float32
            )
        )
    return reconstructor.reconstruct(images, noise, seed)


def _reconstructor(run_or_model: Any, spec: PreprocessSpec | None) -> Reconstructor:
    if isinstance(run_or_model, Reconstructor):
        return run_or_model
    if isinstance(run_or_model, (str, Path)):
        return Reconstructor.from_run(run_or_model)
    if spec is None:
        h, w, c = (int(d) for d in run_or_model.inputs[0].shape[1:])
        spec = PreprocessSpec(height=h, width=w, channels=c)
    return Reconstructor(run_or_model, spec)


def check_autoencoder_model(model: Any, spec: PreprocessSpec) -> None:
    """`RunError` unless `model` takes `spec`'s images and outputs an image of the same shape."""
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError):
        raise RunError("the model has no defined inputs: not an autoencoder LayerLab can use") from None
    expected = (spec.height, spec.width, spec.channels)
    if (
        len(inputs) != 1
        or len(outputs) != 1
        or tuple(inputs[0].shape[1:]) != expected
        or tuple(outputs[0].shape[1:]) != expected
    ):
        shape = "×".join(str(d) for d in outputs[0].shape[1:]) if outputs else "nothing"
        raise RunError(
            f"the model maps its input to {shape}, not to a {'×'.join(map(str, expected))} image: "
            "not an autoencoder of these images"
        )


def _batch(images: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim == 3:  # one image (H, W, C), or grey images without their channel axis (N, H, W)
        images = images[None] if images.shape == (spec.height, spec.width, spec.channels) else images[..., None]
    expected = (spec.height, spec.width, spec.channels)
    if images.ndim != 4 or images.shape[1:] != expected:
        raise ConfigError(
            f"images for this autoencoder must be N×{'×'.join(map(str, expected))}, "
            f"not {'×'.join(map(str, images.shape))}"
        )
    return images


def _describe(source: ImageSource) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    return "<bytes>" if isinstance(source, bytes) else getattr(source, "filename", "") or "<image>"
