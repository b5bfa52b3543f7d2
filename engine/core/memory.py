"""The memory budget: how much RAM LayerLab's in-memory caches may hold; beyond it, disk caches.

One setting for the whole engine, chosen by the front end (the window's preference, the CLI's
`--memory-budget MB`) and passed in as a `MemoryBudget`: the frozen-feature cache keeps its
features in memory only while they fit, and a streamed folder refuses to be turned into one big
array beyond it. The default is a quarter of the machine's memory, at most 4 GiB: enough for the
features of a few hundred thousand images, while TensorFlow, the model and the window keep the rest.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass

from engine.core.files import format_bytes

DEFAULT_SHARE = 4  # a quarter of the machine's memory...
DEFAULT_CAP_BYTES = 4 * 2**30  # ...but at most 4 GiB
FALLBACK_MACHINE_BYTES = 8 * 2**30  # when the platform cannot say how much memory it has


def machine_memory_bytes() -> int:
    """Physical memory, or the process's address-space limit when one is set and lower."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        memory = FALLBACK_MACHINE_BYTES
    try:
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit != resource.RLIM_INFINITY:
            memory = min(memory, limit)
    except (ImportError, OSError, ValueError):
        pass
    return int(memory)


@dataclass(frozen=True)
class MemoryBudget:
    """Bytes that in-memory caches may use in all; `fits(n)` says whether `n` more would."""

    bytes: int

    def __post_init__(self) -> None:
        if self.bytes < 0:
            raise ValueError(f"a memory budget cannot be negative ({self.bytes})")

    @classmethod
    def default(cls) -> MemoryBudget:
        return cls(min(DEFAULT_CAP_BYTES, machine_memory_bytes() // DEFAULT_SHARE))

    @classmethod
    def from_megabytes(cls, megabytes: float) -> MemoryBudget:
        return cls(int(float(megabytes) * 2**20))

    def fits(self, nbytes: int) -> bool:
        return nbytes <= self.bytes

    def __str__(self) -> str:
        return format_bytes(self.bytes)


# Inference passes (frozen-feature extraction, the figures computed after training, reconstructions)
# feed at most this many input pixels per batch: 32 images at 224×224. Bigger batches of small
# images run faster; bigger batches of big images only cost memory — a batch of 256 photos at
# 224 px through MobileNetV2 holds gigabytes of activations — and no speed on a CPU.
INFERENCE_PIXELS = 32 * 224 * 224
MAX_INFERENCE_BATCH = 256
MIN_INFERENCE_BATCH = 8


def inference_batch(sample_shape: tuple[int, ...]) -> int:
    """How many samples of `sample_shape` one inference batch holds: images (H, W, C) by their
    pixel count; flat feature rows (D,) the most."""
    spatial = 1
    for side in tuple(sample_shape)[:-1] if len(sample_shape) >= 3 else ():
        spatial *= max(1, int(side))
    return int(max(MIN_INFERENCE_BATCH, min(MAX_INFERENCE_BATCH, INFERENCE_PIXELS // spatial)))
