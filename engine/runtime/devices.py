"""Which device trains, GPU memory growth, and the distribution strategy."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def configure_gpus() -> list[Any]:
    """Turn on memory growth (so LayerLab does not grab the whole GPU) and list the GPUs.

    Must run before TensorFlow first touches a GPU; calling it again is free.
    """
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth can no longer change
            pass
    return gpus


def device_name() -> str:
    """ "CPU", or the GPU's name (with a count when there are several)."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    gpus = configure_gpus()
    if not gpus:
        return "CPU"
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name") or "GPU"
    except Exception:  # details are best-effort on some builds
        name = "GPU"
    return name if len(gpus) == 1 else f"{len(gpus)} × {name}"


def gpu_memory_mb() -> float | None:
    """Memory TensorFlow holds on the first GPU now, in MiB (None on CPU)."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    if not configure_gpus():
        return None
    try:
        return tf.config.experimental.get_memory_info("GPU:0")["current"] / 2**20
    except Exception:
        return None


def strategy() -> Any:
    """MirroredStrategy over several GPUs, else TensorFlow's default (no-op) strategy."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    if len(configure_gpus()) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
