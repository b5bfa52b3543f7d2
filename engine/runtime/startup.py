"""Start TensorFlow without its start-up chatter on the terminal.

TensorFlow 2.2x prints absl/oneDNN/CUDA-probe lines straight to file descriptor 2 while it
loads, and again the first time it lists devices ("E0000 … failed call to cuInit" on a machine
without a GPU), whatever `TF_CPP_MIN_LOG_LEVEL` says. The CLI promises one readable line per
problem, so it imports TensorFlow and lists the devices once with descriptor 2 pointed at
/dev/null; a failing import still raises a Python exception, which is reported normally once the
descriptor is restored. Later device listings are answered from TensorFlow's cache, silently.

Descriptor 2 is process-wide: other threads' stderr output is lost during those seconds, which is
why the window's background loader does not use this.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 (C and C++ code's stderr too) at /dev/null for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras, and probe the devices (where CUDA prints), silently; once."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with stderr_silenced():
        import keras  # noqa: F401

        # TensorFlow: imported here, so importing this module stays cheap
        import tensorflow

        tensorflow.config.list_physical_devices()
