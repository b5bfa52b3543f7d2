"""The ten lessons: what each sets up, what to look at, and the published figure it reproduces.

Published figures are quoted from where they were published (named in each `published`), not
from LayerLab: a run reproduces them only on the same data, with the same recipe and epochs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.config import ExperimentConfig
from engine.core.errors import ConfigError
from engine.experiments.grid import GridSpec, factor
from engine.experiments.settings import apply_settings

LessonKind = Literal["train", "grid", "imagenet", "autoencoder", "two_stage"]
PHOTO_FOLDER = "a photo folder of three classes (folder:PATH: one sub-folder per class, a few hundred photos each)"


@dataclass(frozen=True)
class Lesson:
    """One recipe. Exactly one of `config` (a single run; also the settings of the "imagenet"
    kind, whose `arch.name` is the network) and `grid` (a comparison) is set.

    `dataset_needed` says what must be on disk offline; `fallback` ("digits" or "shapes") is what
    the lesson runs on without it, with `fallback_settings` applied too (e.g. a smaller image
    size). `data_chosen` is False while a lesson that needs the learner's own photos has none
    (`with_data("folder:PATH")` gives them). `offers_imagenet_weights`: the lesson can start its
    from-scratch model from the published ImageNet weights (`run_lesson(imagenet_weights=True)`).
    """

    name: str
    title: str
    note: str
    published: str
    config: ExperimentConfig | None = None
    grid: GridSpec | None = None
    dataset_needed: str | None = None
    fallback: str | None = None
    kind: LessonKind = "train"
    fallback_settings: dict[str, Any] = field(default_factory=dict)
    data_chosen: bool = True
    offers_imagenet_weights: bool = False

    @property
    def base_config(self) -> ExperimentConfig:
        """The single run's config, or the grid's base config."""
        config = self.config if self.config is not None else self.grid.base if self.grid is not None else None
        if config is None:
            raise ConfigError(f"lesson {self.name} has neither a config nor a grid")
        return config

    def with_config(self, config: ExperimentConfig) -> Lesson:
        """The same lesson on another base config (a grid keeps its factors)."""
        if self.grid is not None:
            return dataclasses.replace(self, grid=dataclasses.replace(self.grid, base=config))
        return dataclasses.replace(self, config=config)

    def with_settings(self, settings: dict[str, Any]) -> Lesson:
        """The lesson with settings applied to its config (dotted keys as a grid's: `data.limit`,
        `arch.name`, `training.epochs`, ...; values already of the setting's type)."""

        return self.with_config(apply_settings(self.base_config, settings)) if settings else self

    def with_data(self, name: str) -> Lesson:
        """The lesson on the data `name` ("folder:PATH", "npz:PATH", a dataset name)."""
        lesson = self.with_config(self.base_config.updated(**{"data.name": name}))
        return dataclasses.replace(lesson, data_chosen=True)


def _config(**settings: Any) -> ExperimentConfig:
    return ExperimentConfig().updated(**settings)


def _grid(base: ExperimentConfig, *factors: tuple[str, tuple[Any, ...]]) -> GridSpec:
    return GridSpec(base, tuple(factor(key, values) for key, values in factors))


def _lessons() -> list[Lesson]:
    return [
        Lesson(
            "mlp_mnist",
            "MLP on MNIST",
            "Each 28×28 digit is flattened into 784 numbers, so the network is never told which pixels are "
            "neighbours, and still reads about 98 % of the test digits right. Watch the validation curve "
            "flatten after a few epochs while the training loss keeps falling; dropout 0.5 keeps that gap small.",
            "98.07 % test accuracy (Flatten → 512 → 512 → softmax, dropout 0.5, RMSprop, batch 256, 20 epochs)",
            config=_config(
                **{
                    "data.name": "mnist",
                    "data.validation": "test",
                    "arch.name": "mlp",
                    "arch.dropout": True,
                    "arch.dropout_rate": 0.5,
                    "training.optimizer": "rmsprop",
                    "training.learning_rate": 0.001,
                    "training.batch_size": 256,
                    "training.epochs": 20,
                }
            ),
            dataset_needed="mnist",
            fallback="digits",
        ),
        Lesson(
            "naive_vs_bn_cnn",
            "Naive ConvNet vs BatchNorm ConvNet on CIFAR-10",
            "Two convolutional networks on the same photos for 10 epochs: two strided convolutions straight "
            "into a softmax, against four convolutions with batch normalisation and a dense layer. Batch "
            "normalisation keeps each layer's inputs in range, so the deeper network trains fast and far; "
            "compare the two rows, then the validation curves of their runs.",
            "about 39 % test accuracy for the naive ConvNet against more than 70 % with batch normalisation (10 epochs)",
            grid=_grid(
                _config(**{"data.name": "cifar10", "data.validation": "test", "training.epochs": 10}),
                ("arch.name", ("naive_cnn", "bn_cnn")),
            ),
            dataset_needed="cifar10",
            fallback="shapes",
            kind="grid",
        ),
        Lesson(
            "cifar_cnn_augmentation",
            "The Keras CIFAR-10 CNN with and without augmentation",
            "The Keras example's network trained twice, once on the images as they are and once on randomly "
            "flipped and shifted copies. Without augmentation the training accuracy races ahead of the "
            "validation accuracy; with it the two stay together and validation ends higher.",
            "75 % validation accuracy after 25 epochs and 79 % after 50, with augmentation (the Keras cifar10_cnn "
            "example: RMSprop 0.0001, batch 32, horizontal flips, 10 % shifts)",
            grid=_grid(
                _config(
                    **{
                        "data.name": "cifar10",
                        "data.validation": "test",
                        "arch.name": "cifar_cnn",
                        "training.optimizer": "rmsprop",
                        "training.learning_rate": 0.0001,
                        "training.batch_size": 32,
                        "training.epochs": 25,
                        "augmentation.flip": "horizontal",
                        "augmentation.translation": 0.1,
                    }
                ),
                ("augmentation", (False, True)),
            ),
            dataset_needed="cifar10",
            fallback="shapes",
            kind="grid",
        ),
        Lesson(
            "overfitting_regularisation",
            "Overfitting: no regularisation vs dropout vs batchnorm",
            "The same MLP four times: without regularisation, with dropout 0.5, with batch normalisation, with "
            "both. Compare each row's training and validation accuracy: the gap between them is the "
            "overfitting, and dropout is what closes it.",
            "an unregularised network overfitting: 99.87 % training accuracy against 97.72 % validation accuracy",
            grid=_grid(
                _config(
                    **{"data.name": "mnist", "arch.name": "mlp", "training.epochs": 20, "training.batch_size": 128}
                ),
                ("arch.dropout", (0.0, 0.5)),
                ("arch.batchnorm", (False, True)),
            ),
            dataset_needed="mnist",
            fallback="digits",
            kind="grid",
        ),
        Lesson(
            "vgg16_scratch",
            "VGG16 built from scratch",
            "VGG16 layer by layer: 13 3×3 convolutions in 5 blocks, each block ending in max pooling, then "
            "3 dense layers (512 wide at 32 px); see the layer table. Trained from random weights it learns "
            "slowly; started from the published ImageNet weights (loaded into this very model by layer name) "
            "it starts far ahead.",
            "138.4 M parameters with its 1000-class head at 224 px; with the published ImageNet weights 71.3 % "
            "top-1 / 90.1 % top-5 ImageNet accuracy (Simonyan & Zisserman 2014, Keras applications)",
            config=_config(
                **{
                    "data.name": "cifar10",
                    "data.validation": "test",
                    "arch.name": "vgg16",
                    "training.optimizer": "adam",
                    "training.learning_rate": 0.0001,
                    "training.epochs": 10,
                }
            ),
            dataset_needed="cifar10",
            fallback="shapes",
            offers_imagenet_weights=True,
        ),
        Lesson(
            "imagenet_models",
            "ImageNet models as they are",
            "A network trained on ImageNet answers with its own 1 000 classes, no training needed: drop a "
            "photo and read its top 5. Try the five networks on the same photo: they mostly agree on what "
            "they know, and are confidently wrong about what ImageNet never showed them.",
            "top-1 / top-5 ImageNet validation accuracy: VGG16 71.3 / 90.1 %, ResNet50 74.9 / 92.1 %, MobileNetV2 "
            "71.3 / 90.1 %, InceptionV3 77.9 / 93.7 %, EfficientNetB0 77.1 / 93.3 % (Keras applications)",
            config=_config(**{"arch.name": "mobilenet_v2"}),
            dataset_needed="the network's ImageNet weights with its 1000-class head, and imagenet_class_index.json",
            kind="imagenet",
        ),
        Lesson(
            "transfer_fine_tune",
            "Transfer learning, then fine-tuning",
            "MobileNetV2's ImageNet features with a new head trained on your photos (the base frozen), then "
            "its last block unfrozen and trained on at a tenth of the learning rate. The line in the curves "
            "marks where fine-tuning began: watch validation accuracy step up after it.",
            "about 90 % validation accuracy with the new head, about 98 % after fine-tuning the last block "
            "(a three-class photo set)",
            config=_config(
                **{
                    "data.image_size": 160,
                    "arch.name": "mobilenet_v2",
                    "arch.weights": "imagenet",
                    "arch.head_units": 128,
                    "arch.dropout_rate": 0.2,
                    "training.epochs": 5,
                    "training.learning_rate": 0.001,
                    "training.batch_size": 32,
                    "training.stage2_epochs": 5,
                    "training.stage2_unfreeze_last": 4,
                    "training.stage2_lr_factor": 0.1,
                }
            ),
            dataset_needed=PHOTO_FOLDER,
            fallback="shapes",
            kind="two_stage",
            data_chosen=False,
            fallback_settings={"data.image_size": 64},
        ),
        Lesson(
            "precomputed_features",
            "Precomputed convolutional features",
            "VGG16's frozen convolutional base runs once over your photos and only the dense layers train on "
            "those cached features, in seconds per epoch. With dropout the training accuracy stays below the "
            "validation accuracy (underfitting); remove it and training accuracy runs to 100 % while "
            "validation stalls (overfitting).",
            "about 90 % validation accuracy on cats vs dogs (2 000 training images) from VGG16's features, "
            "overfitting almost from the start (Chollet, Deep Learning with Python, 5.3.1)",
            grid=_grid(
                _config(
                    **{
                        "data.image_size": 150,
                        "arch.name": "vgg16_imagenet",
                        "arch.weights": "imagenet",
                        "arch.pooling": "flatten",
                        "arch.head_units": 256,
                        "training.optimizer": "rmsprop",
                        "training.learning_rate": 0.00002,
                        "training.batch_size": 20,
                        "training.epochs": 30,
                        "training.feature_cache": True,
                    }
                ),
                ("arch.dropout", (0.5, 0.0)),
            ),
            dataset_needed=PHOTO_FOLDER,
            fallback="shapes",
            kind="grid",
            data_chosen=False,
            fallback_settings={"data.image_size": 48},
        ),
        Lesson(
            "capsnet_mnist",
            "Capsule network (CapsNet) on MNIST",
            "Each class is a 16-D capsule whose length says how sure the network is that the digit is there; "
            "primary capsules vote for the class capsules, and three rounds of routing-by-agreement give the "
            "votes that agree more weight. The cards show the capsule lengths as probabilities.",
            "99.75 % test accuracy (0.25 % error; Sabour, Frosst & Hinton 2017, 3 routing iterations, with the "
            "reconstruction regulariser)",
            config=_config(
                **{
                    "data.name": "mnist",
                    "data.validation": "test",
                    "arch.name": "capsnet",
                    "arch.reconstruction": True,
                    "training.batch_size": 100,
                    "training.epochs": 10,
                }
            ),
            dataset_needed="mnist",
            fallback="digits",
        ),
        Lesson(
            "denoising_autoencoder",
            "Denoising autoencoder on MNIST",
            "A convolutional autoencoder sees digits buried in Gaussian noise and learns to give back the clean "
            "digit. Compare originals, noisy inputs and reconstructions side by side, and the reconstruction "
            "error against the noisy inputs' own error: a denoiser is below it.",
            "clean digits out of noisy ones (the Keras blog's convolutional denoiser, noise 0.5): reconstructions "
            "far closer to the clean digits than the noisy inputs are",
            config=_config(
                **{
                    "task": "autoencoder",
                    "data.name": "mnist",
                    "arch.name": "conv_autoencoder",
                    "arch.noise": 0.5,
                    "training.batch_size": 128,
                    "training.epochs": 10,
                }
            ),
            dataset_needed="mnist",
            fallback="digits",
            kind="autoencoder",
        ),
    ]


LESSONS: tuple[Lesson, ...] = tuple(_lessons())


def list_lessons() -> list[Lesson]:
    """The ten lessons, in the order of the issue."""
    return list(LESSONS)


def get_lesson(name: str) -> Lesson:
    """The lesson `name`; `ConfigError` listing the names otherwise."""
    for lesson in LESSONS:
        if lesson.name == name:
            return lesson
    raise ConfigError(f"no lesson named {name!r} (lessons: {', '.join(lesson.name for lesson in LESSONS)})")
