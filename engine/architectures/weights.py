"""Where a backbone's weights come from: ImageNet (Keras' download cache), none, or a file.

Keras downloads ImageNet weights on first use into `$KERAS_HOME/models/` (default
`~/.keras/models/`, or `/tmp/.keras/models/` when the home folder is read-only). Offline, that
download fails after a long wait or with an opaque error; LayerLab looks in the cache first,
tries the download only when the file is absent, bounds it with a socket timeout, and otherwise
says exactly which file to put where.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import ArchitectureError

_GCS = "https://storage.googleapis.com/tensorflow/keras-applications/"
DOWNLOAD_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class WeightsFile:
    """A notop ImageNet weights file as Keras names, fetches and checks it."""

    file_name: str
    url: str
    file_hash: str | None


def imagenet_file(arch: str, side: int) -> WeightsFile:
    """The file Keras loads for `arch` without its top, for inputs `side` pixels square.

    Names, addresses and hashes are those in keras/src/applications/*.py.
    """
    if arch == "vgg16_imagenet":
        name = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return WeightsFile(name, f"{_GCS}vgg16/{name}", "6d6bbae143d832006294945121d1f1fc")
    if arch == "resnet50":
        name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return WeightsFile(name, f"{_GCS}resnet/{name}", "4d473c1dd8becc155b73f8504c6f6626")
    if arch == "mobilenet_v2":
        rows = side if side in (96, 128, 160, 192, 224) else 224  # Keras' own choice
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
        return WeightsFile(name, f"{_GCS}mobilenet_v2/{name}", None)
    if arch == "inception_v3":
        name = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return WeightsFile(name, f"{_GCS}inception_v3/{name}", "bcbd6486424b2319ff4ef7d526e38f63")
    if arch == "efficientnet_b0":
        name = "efficientnetb0_notop.h5"
        return WeightsFile(
            name, f"https://storage.googleapis.com/keras-applications/{name}", "50bc09e76180e00e4465e1a485ddc09d"
        )
    raise ArchitectureError(f"{arch} has no ImageNet weights")


def keras_cache_dir() -> Path:
    """The folder Keras' `get_file(..., cache_subdir="models")` reads and writes."""
    try:
        # TensorFlow: imported here, so importing this module stays cheap
        from keras.src.backend.config import keras_home

        base = os.path.expanduser(keras_home())
    except ImportError:  # pragma: no cover - a Keras without this private helper
        base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    return Path(base) / "models"


@contextmanager
def download_timeout(seconds: float = DOWNLOAD_TIMEOUT_S) -> Iterator[None]:
    """Bound every socket operation of a download (urllib's default is to wait forever).

    This sets the process-wide default while it runs; other sockets opened meanwhile without
    their own timeout get it too, which is harmless for LayerLab.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def offline_message(arch: str, wf: WeightsFile, folder: Path) -> str:
    return (
        f"ImageNet weights for {arch} are not downloaded and could not be fetched (no network?): "
        f"put {wf.file_name} in {folder}/ (from {wf.url}), or choose weights: none"
    )


def ensure_imagenet_weights(arch: str, side: int) -> Path:
    """The cached ImageNet file of `arch`, downloading it first if it is absent.

    Raises `ArchitectureError` naming the file, its folder and its address when the download
    fails.
    """
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    wf = imagenet_file(arch, side)
    folder = keras_cache_dir()
    cached = folder / wf.file_name
    if cached.is_file():
        return cached
    try:
        with download_timeout():
            path = keras.utils.get_file(wf.file_name, wf.url, cache_subdir="models", file_hash=wf.file_hash)
    except Exception:
        raise ArchitectureError(offline_message(arch, wf, folder)) from None
    return Path(path)


def resolve_weights(arch: str, weights: str, side: int) -> str | None:
    """What to pass as `weights=` to the Keras application: "imagenet", None or a file path."""
    choice = weights.strip()
    if choice.lower() in ("none", ""):
        return None
    if choice.lower() == "imagenet":
        ensure_imagenet_weights(arch, side)
        return "imagenet"
    path = Path(choice).expanduser()
    if not path.is_file():
        raise ArchitectureError(f"weights file {path} does not exist (weights must be imagenet, none or a file)")
    if not path.name.endswith(".h5"):
        raise ArchitectureError(f"weights file {path} must be a Keras .h5 or .weights.h5 file")
    return str(path)
