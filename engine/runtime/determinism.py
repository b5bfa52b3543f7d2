"""TensorFlow's op determinism for one training: the same seed then gives the same history to the
last digit on the same machine (also with augmentation, whose parallel map otherwise draws its
random numbers in whatever order the threads run).

It is a process-wide switch in TensorFlow: it is turned on for the training that asks for it and
put back as it was afterwards, so do not train another model in parallel meanwhile. Its cost in
speed is measured in docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def op_determinism(enabled: bool) -> Iterator[None]:
    """Op determinism on inside the block when `enabled`; the previous state restored after."""
    # TensorFlow: imported here, so importing this module stays cheap
    from tensorflow.python.framework import config as tf_config

    before = tf_config.is_op_determinism_enabled()
    if enabled and not before:
        tf_config.enable_op_determinism()
    try:
        yield
    finally:
        if enabled and not before:
            tf_config.disable_op_determinism()
