"""An autoencoder's reconstructions: of validation images, and of what the user drops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine import LayerLabError
from gui.engine_startup import load_engine
from gui.tasks import Task


def _pixels(image: Any) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class AutoencoderView:
    reconstructor: Any  # engine.Reconstructor
    samples: tuple[tuple[Any, Any, Any], ...]  # (original, noisy, reconstruction) uint8


def autoencoder_view(task: Task, model: Any, spec: Any, noise: float, images: Any, seed: int = 0) -> AutoencoderView:
    """A reconstructor for an autoencoder just trained, and `images` (validation images, 0..255)
    as originals, noisy inputs (the training's noise) and reconstructions."""
    load_engine()
    from engine import Reconstructor  # TensorFlow: only in the worker, once the engine is loaded

    reconstructor = Reconstructor(model, spec, noise=noise)
    images = np.asarray(images, np.float32)
    if not len(images):
        return AutoencoderView(reconstructor, ())
    noisy, reconstructed = reconstructor.reconstruct(images, seed=seed)
    return AutoencoderView(
        reconstructor, tuple((_pixels(o), _pixels(n), _pixels(r)) for o, n, r in zip(images, noisy, reconstructed))
    )


@dataclass(frozen=True)
class Reconstructed:
    """One dropped image through the autoencoder, or why not."""

    ticket: int
    original: Any = None  # uint8, the image at the network's input size
    noisy: Any = None
    reconstruction: Any = None
    error: float | None = None  # mean squared error (0..1 pixels) against the original
    problem: str = ""


def reconstruct_image(task: Task, ticket: int, reconstructor: Any, source: Any) -> Reconstructed:
    try:
        r = reconstructor.reconstruct_image(source)
    except LayerLabError as err:
        return Reconstructed(ticket, problem=str(err))
    return Reconstructed(ticket, _pixels(r.input), _pixels(r.noisy), _pixels(r.reconstructed), r.error)
