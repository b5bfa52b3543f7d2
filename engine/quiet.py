"""Import TensorFlow without its start-up chatter on the terminal.

TensorFlow 2.2x prints absl/oneDNN/CUDA-probe lines straight to file descriptor 2 while it
loads, whatever `TF_CPP_MIN_LOG_LEVEL` says. The CLI promises one readable line per problem, so
it imports TensorFlow with descriptor 2 pointed at /dev/null; a failing import still raises a
Python exception, which is reported normally once the descriptor is restored.
"""
from __future__ import annotations

import os
import sys


def import_tensorflow_quietly() -> None:
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
