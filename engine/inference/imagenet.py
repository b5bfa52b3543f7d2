"""The ImageNet networks as they are: their own 1 000-class heads and the class names.

LayerLab's backbone presets replace each network's head with a new one; the first transfer
lesson uses it as it was published instead: VGG16, ResNet50, MobileNetV2, InceptionV3 or
EfficientNetB0 with its ImageNet top, answering with the 1 000 ImageNet classes by name.

- The class names are those Keras's `decode_predictions` reads: `imagenet_class_index.json`
  (`{"0": ["n01440764", "tench"], ...}`), kept in Keras's cache beside the weights
  (`$KERAS_HOME/models/`). Like the weights (engine.architectures.weights), the cached file is
  read first, a missing one is downloaded once with a bounded wait, and offline the message
  names the file, its address and the folder to put it in.
- The weights are the "with top" files (e.g. `vgg16_weights_tf_dim_ordering_tf_kernels.h5`,
  528 MB; MobileNetV2's is 14 MB), fetched the same way and loaded by path.
- `ImagenetClassifier(backbone)` is an `engine.inference.classifier.Classifier`: the photo goes
  through LayerLab's preprocessing (`PreprocessSpec`: resized and padded to the network's native
  square size, RGB) and the network's own input scaling sits inside the model
  (`ImagenetPreprocess`), so `classify(photo, top_k=5)` gives the top-5 names and probabilities
  exactly as for a trained run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.architectures.weights import WeightsFile, download_timeout, keras_cache_dir
from engine.core.errors import ArchitectureError
from engine.core.files import read_regular_file
from engine.datasets.keras_datasets import keras_datasets_dir
from engine.images.spec import PreprocessSpec
from engine.inference.classifier import Classifier

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"  # as in keras/src/applications/imagenet_utils.py
IMAGENET_CLASSES = 1000
MAX_INDEX_BYTES = 1 * 2**20

_GCS = "https://storage.googleapis.com/tensorflow/keras-applications/"
BACKBONES = ("vgg16_imagenet", "resnet50", "mobilenet_v2", "inception_v3", "efficientnet_b0")
NATIVE_SIZE = {"vgg16_imagenet": 224, "resnet50": 224, "mobilenet_v2": 224, "inception_v3": 299, "efficientnet_b0": 224}
MOBILENET_SIZES = (96, 128, 160, 192, 224)


@dataclass(frozen=True)
class ImagenetClass:
    index: int
    wnid: str  # WordNet id, e.g. "n02123045"
    name: str  # as Keras names it, e.g. "tabby"


# --- the class names -----------------------------------------------------------------------------
def class_index_offline_message(folder: Path, tried: bool = True) -> str:
    fetched = " and could not be fetched (no network?)" if tried else ""
    return f"the ImageNet class names are not downloaded{fetched}: put {CLASS_INDEX_FILE} in {folder}/ (from {CLASS_INDEX_URL})"


def ensure_class_index() -> Path:
    """The cached `imagenet_class_index.json`, downloading it first if it is absent;
    `ArchitectureError` naming the file, its address and its folder when that fails."""
    folder = keras_cache_dir()
    cached = folder / CLASS_INDEX_FILE
    if cached.is_file():
        return cached
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    try:
        with download_timeout():
            path = keras.utils.get_file(
                CLASS_INDEX_FILE, CLASS_INDEX_URL, cache_subdir="models", file_hash=CLASS_INDEX_HASH
            )
    except Exception:
        raise ArchitectureError(class_index_offline_message(folder)) from None
    return Path(path)


def read_class_index(path: Path) -> list[ImagenetClass]:
    """The 1 000 classes of a Keras class-index file, in output order; `ArchitectureError`
    naming the file when it is not one (then delete it to download it again)."""

    data = read_regular_file(path, max_bytes=MAX_INDEX_BYTES, error=ArchitectureError, what="the ImageNet class index")
    damaged = f"{path} is not Keras's ImageNet class index (delete it to download it again)"
    try:
        index = json.loads(data.decode("utf-8"))
        classes = [ImagenetClass(i, str(index[str(i)][0]), str(index[str(i)][1])) for i in range(IMAGENET_CLASSES)]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ArchitectureError(damaged) from None
    if len(index) != IMAGENET_CLASSES:
        raise ArchitectureError(damaged)
    return classes


def imagenet_classes() -> list[ImagenetClass]:
    """The 1 000 ImageNet classes (downloads the index once; see the module docstring)."""
    return read_class_index(ensure_class_index())


def imagenet_class_names() -> list[str]:
    """The 1 000 class names in output order, readable ("golden retriever", not "golden_retriever")."""
    return [c.name.replace("_", " ") for c in imagenet_classes()]


# --- the networks with their top ---------------------------------------------------------------
def top_weights_file(arch: str, side: int) -> WeightsFile:
    """The with-top ImageNet file Keras loads for `arch` (names and hashes from keras/src/applications)."""
    if arch == "vgg16_imagenet":
        name = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
        return WeightsFile(name, f"{_GCS}vgg16/{name}", "64373286793e3c8b2b4e3219cbf3544b")
    if arch == "resnet50":
        name = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
        return WeightsFile(name, f"{_GCS}resnet/{name}", "2cb95161c43110f7111970584f804107")
    if arch == "mobilenet_v2":
        name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{side}.h5"
        return WeightsFile(name, f"{_GCS}mobilenet_v2/{name}", None)
    if arch == "inception_v3":
        name = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
        return WeightsFile(name, f"{_GCS}inception_v3/{name}", "9a0d58056eeedaa3f26cb7ebd46da564")
    if arch == "efficientnet_b0":
        name = "efficientnetb0.h5"
        return WeightsFile(
            name, f"https://storage.googleapis.com/keras-applications/{name}", "902e53a9f72be733fc0bcb005b3ebbac"
        )
    raise ArchitectureError(f"{arch} is not an ImageNet network (choose one of: {', '.join(BACKBONES)})")


def input_size(arch: str, image_size: int | None = None) -> int:
    """The square side the network takes with its top: its native size; MobileNetV2 also has
    weights for 96, 128, 160 and 192 px."""
    if arch not in NATIVE_SIZE:
        raise ArchitectureError(f"{arch} is not an ImageNet network (choose one of: {', '.join(BACKBONES)})")
    if image_size is None or image_size == NATIVE_SIZE[arch]:
        return NATIVE_SIZE[arch]
    if arch == "mobilenet_v2" and image_size in MOBILENET_SIZES:
        return image_size
    sizes = ", ".join(map(str, MOBILENET_SIZES)) if arch == "mobilenet_v2" else str(NATIVE_SIZE[arch])
    raise ArchitectureError(f"{arch} with its ImageNet head takes {sizes} px images, not {image_size}")


def top_weights_offline_message(arch: str, wf: WeightsFile, folder: Path, tried: bool = True) -> str:
    fetched = " and could not be fetched (no network?)" if tried else ""
    return (
        f"the ImageNet weights of {arch} with its 1000-class head are not downloaded{fetched}: put {wf.file_name} "
        f"in {folder}/ (from {wf.url})"
    )


def ensure_top_weights(arch: str, side: int) -> Path:
    """The cached with-top weights of `arch`, downloaded first if absent (`ArchitectureError`
    naming the file, its address and its folder when that fails)."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    wf = top_weights_file(arch, side)
    folder = keras_cache_dir()
    cached = folder / wf.file_name
    if cached.is_file():
        return cached
    try:
        with download_timeout():
            path = keras.utils.get_file(wf.file_name, wf.url, cache_subdir="models", file_hash=wf.file_hash)
    except Exception:
        raise ArchitectureError(top_weights_offline_message(arch, wf, folder)) from None
    return Path(path)


def build_imagenet_model(arch: str, side: int, weights: str | Path | None) -> Any:
    """image (side × side × 3, 0..255) → the network's own preprocessing → the application with
    its top → "predictions" (1 000 softmax outputs). `weights`: a with-top file, or None (random,
    for tests of the plumbing)."""
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    from engine.architectures.backbones import SPECS
    from engine.architectures.common import image_input
    from engine.architectures.preprocessing import ImagenetPreprocess

    spec = SPECS[arch]
    inputs = image_input((side, side, 3))
    x = inputs if spec.preprocess == "none" else ImagenetPreprocess(spec.preprocess, name="preprocess")(inputs)
    application = getattr(keras.applications, spec.application)
    try:
        base = application(
            include_top=True,
            weights=str(weights) if weights else None,
            input_tensor=x,
            classes=IMAGENET_CLASSES,
            **dict(spec.kwargs),
        )
    except Exception as err:
        text = " ".join(str(err).split())[:300]
        raise ArchitectureError(f"cannot load {arch} with its ImageNet head from {weights}: {text}") from None
    return keras.Model(inputs, base.output, name=f"{arch}_imagenet")


def imagenet_spec(arch: str, side: int, class_names: list[str]) -> Any:
    """How a photo is prepared for the network: RGB, resized and padded to side × side."""

    return PreprocessSpec(height=side, width=side, channels=3, polarity="natural", class_names=tuple(class_names))


class ImagenetClassifier(Classifier):
    """A `Classifier` of the ImageNet network `backbone` as it was published: `classify(photo,
    top_k=5)` answers with ImageNet class names. Downloads the class index and the with-top
    weights once (`ArchitectureError` offline, naming what to put where)."""

    def __init__(self, backbone: str = "mobilenet_v2", image_size: int | None = None) -> None:
        side = input_size(backbone, image_size)
        names = imagenet_class_names()
        model = build_imagenet_model(backbone, side, ensure_top_weights(backbone, side))
        super().__init__(model, imagenet_spec(backbone, side, names))
        self.backbone = backbone


def models_cache_dir() -> Path:
    """Keras's `models/` cache folder, without importing Keras when it is not loaded yet."""

    if "keras" in sys.modules:
        return keras_cache_dir()

    return keras_datasets_dir().parent / "models"


def missing_files(arch: str, image_size: int | None = None) -> list[str]:
    """What `ImagenetClassifier(arch)` would have to download (no network, and no Keras import
    when Keras is not loaded): one sentence per missing file, naming it, its address and its
    folder."""
    folder = models_cache_dir()
    side = input_size(arch, image_size)
    wf = top_weights_file(arch, side)
    missing = []
    if not (folder / wf.file_name).is_file():
        missing.append(top_weights_offline_message(arch, wf, folder, tried=False))
    if not (folder / CLASS_INDEX_FILE).is_file():
        missing.append(class_index_offline_message(folder, tried=False))
    return missing
