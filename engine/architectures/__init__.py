"""Architectures by name: small presets built from scratch and ImageNet backbones.

Importing this package is cheap (no TensorFlow/Keras): it only declares names, descriptions and
sizes. `build_model` imports the builder module (and so Keras) the first time it is called.

    from engine.architectures import list_architectures, build_model
    model = build_model(ArchOptions(name="cifar_cnn"), (32, 32, 3), num_classes=10)
"""

from __future__ import annotations

import sys

from engine.architectures.blocks import block_of
from engine.architectures.registry import (
    ArchInfo,
    build_model,
    declare,
    get_architecture,
    list_architectures,
)

__all__ = [
    "ArchInfo",
    "block_of",
    "build_model",
    "custom_objects",
    "get_architecture",
    "list_architectures",
]

_SCRATCH = "engine.architectures.scratch"
_BACKBONES = "engine.architectures.backbones"
_CAPSNET = "engine.architectures.capsnet"
_AUTOENCODERS = "engine.architectures.autoencoders"

declare(
    ArchInfo(
        "mlp",
        "Multilayer perceptron: Flatten → Dense 512 → Dense 512 → softmax (the classic MNIST MLP).",
        "scratch",
        None,
        1,
    ),
    _SCRATCH,
)
declare(
    ArchInfo(
        "naive_cnn",
        "Two strided convolutions (10@4×4/2, 20@3×3/2) → softmax: the smallest CNN that beats the MLP.",
        "scratch",
        None,
        1,
    ),
    _SCRATCH,
)
declare(
    ArchInfo(
        "bn_cnn",
        "4 × (Conv 3×3 → BatchNorm → LeakyReLU), 32-32-64-64 filters, then Dense 128 → Dropout → softmax. "
        "Uses LeakyReLU where the activation is left at relu; batch norm on by design.",
        "scratch",
        None,
        1,
        {"batchnorm": True},
    ),
    _SCRATCH,
)
declare(
    ArchInfo(
        "cifar_cnn",
        "The Keras CIFAR-10 example: three blocks of two 3×3 convolutions (32, 64, 64) with max pooling "
        "and Dropout 0.25, then Dense 512 → Dropout → softmax.",
        "scratch",
        None,
        1,
    ),
    _SCRATCH,
)
declare(
    ArchInfo(
        "vgg16",
        "VGG16's 13 convolutions in 5 blocks trained from scratch (dense layers 4096 wide, or 512 under "
        "64 px). Slow to train; for learning the topology.",
        "scratch",
        None,
        1,
    ),
    _SCRATCH,
)
declare(
    ArchInfo(
        "capsnet",
        "CapsNet (Sabour et al. 2017): Conv 256@9×9 → 32×8-D primary capsules → one 16-D capsule per "
        "class by 3 iterations of routing-by-agreement, margin loss, reconstruction decoder as a regulariser; "
        "outputs capsule lengths. Kernels shrink below 28 px (3×3 on 8×8 digits); 64 px at most.",
        "scratch",
        None,
        5,
        {"reconstruction": True},
        loss="margin",
    ),
    _CAPSNET,
)
declare(
    ArchInfo(
        "vgg16_imagenet",
        "VGG16 pretrained on ImageNet (Keras applications), with a new classifier head.",
        "backbone",
        224,
        32,
    ),
    _BACKBONES,
)
declare(
    ArchInfo("resnet50", "ResNet50 pretrained on ImageNet, with a new classifier head.", "backbone", 224, 32),
    _BACKBONES,
)
declare(
    ArchInfo(
        "mobilenet_v2",
        "MobileNetV2 (width 1.0) pretrained on ImageNet: small and fast, with a new classifier head.",
        "backbone",
        224,
        32,
    ),
    _BACKBONES,
)
declare(
    ArchInfo(
        "inception_v3",
        "InceptionV3 pretrained on ImageNet (299 px native), with a new classifier head.",
        "backbone",
        299,
        75,
    ),
    _BACKBONES,
)
declare(
    ArchInfo(
        "efficientnet_b0", "EfficientNetB0 pretrained on ImageNet, with a new classifier head.", "backbone", 224, 32
    ),
    _BACKBONES,
)
declare(
    ArchInfo(
        "dense_autoencoder",
        "Dense autoencoder: Flatten → 256 → latent → 256 → every pixel (sigmoid); "
        "denoising with arch.noise > 0. Trains with task autoencoder.",
        "autoencoder",
        None,
        1,
        loss="reconstruction",
    ),
    _AUTOENCODERS,
)
declare(
    ArchInfo(
        "conv_autoencoder",
        "Convolutional autoencoder: 2 × (Conv 32 3×3 → MaxPool) → 2 × (Conv 32 → UpSampling) → "
        "Conv (sigmoid), the Keras blog's denoiser; denoising with arch.noise > 0. Trains with task autoencoder.",
        "autoencoder",
        None,
        4,
        loss="reconstruction",
    ),
    _AUTOENCODERS,
)


def custom_objects() -> dict[str, type]:
    """The custom layers LayerLab models use (imports Keras).

    They are registered with Keras when their module is imported; calling this before
    `keras.saving.load_model` makes sure of it in a fresh process.
    """
    # TensorFlow: imported here, so importing this module stays cheap
    from engine.architectures.capsnet import CUSTOM_OBJECTS as CAPSNET
    from engine.architectures.preprocessing import CUSTOM_OBJECTS

    return dict(CUSTOM_OBJECTS) | dict(CAPSNET)


if "keras" in sys.modules:
    # Keras is already loaded (e.g. a model is about to be read): register LayerLab's layers
    # now. Code that may have imported this package before Keras should call `custom_objects()`.
    custom_objects()
