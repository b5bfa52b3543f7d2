"""What differs between training a classifier and an autoencoder: one strategy per task.

The trainer (engine.training.trainer) does everything a training does whatever it learns: the
run folder, stages, checkpoints, pausing, resuming and forking, the schedule, early stopping,
events, failures. At a few fixed moments it asks the task:

- `check`: refuse a config the task cannot train, before anything starts;
- `dataset`: the data to train on (a classifier applies the user's label decisions);
- `compile_args`: the loss and the metrics;
- `feature_plan`: whether the head can train on cached features of a frozen prefix;
- `training_data`: the model `fit` trains and its training and validation data;
- `notes`: what `Started.note` says about the task;
- `final_metrics`: the figures of the finished model.

A classifier learns labels (cross-entropy, or CapsNet's margin loss; accuracy). An autoencoder
learns to give back its input: the loss is the mean squared error between the model's output and
the clean image, both on the 0..1 pixel scale. Denoising (`arch.noise` = σ > 0): every training
batch gets fresh Gaussian noise of std σ (on that scale, clipped to 0..1) before the model sees
it; the validation images get noise once, from the seed, so every epoch is judged on the same
noisy images. Its `metrics.json` holds the figures a denoiser is judged by:
`reconstruction_error` (the reconstructions of the noisy validation images against the clean
ones) against `noisy_input_error` (the noisy images themselves against the clean ones).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import tensorflow as tf

from engine.architectures import get_architecture, list_architectures
from engine.architectures.capsnet import MarginLoss
from engine.architectures.outputs import as_probabilities
from engine.architectures.registry import frozen_random_base
from engine.caches.features import FeatureArray, FeatureCache, FeatureOverflow, FeatureSet
from engine.config import ExperimentConfig
from engine.core.cancel import Cancelled, CancelToken
from engine.core.errors import ArchitectureError, ConfigError
from engine.core.events import Observer, Preparing
from engine.core.files import format_bytes
from engine.core.records import RunMetrics
from engine.datasets.decisions import AppliedDecisions, honour_decisions
from engine.inference.reconstruction import add_noise
from engine.runtime import devices
from engine.runtime.graphs import compiled_call
from engine.training import feature_cache
from engine.training.augmentation import augment_dataset, carry_layers
from engine.training.callbacks import PreparingReporter
from engine.training.evaluation import final_metrics
from engine.training.failures import TrainingFailure
from engine.training.insight import after_training
from engine.training.losses import SmoothedSparseCrossentropy, averaged_forward, tta_flips
from engine.training.testing import final_test_figures


class Trainer(Protocol):
    """What a task reads of the training it serves (engine.training.trainer.Trainer): the config,
    the data, the model, the caller's feature cache, cancellation and events, the result so far."""

    config: ExperimentConfig
    dataset: Any
    model: Any
    features: FeatureCache
    cancel: CancelToken
    observer: Observer
    result: Any  # engine.training.trainer.TrainResult
    restored_epoch: int | None


EVALUATION_BATCH = 256


class TrainingTask(Protocol):
    name: str
    divergence_hint: str

    def check(self, config: ExperimentConfig) -> None: ...

    def dataset(self, dataset: Any, config: ExperimentConfig) -> tuple[Any, str]: ...

    def compile_args(self, config: ExperimentConfig) -> dict[str, Any]: ...

    def feature_plan(self, trainer: Trainer) -> tuple[feature_cache.CachePlan | None, str]: ...

    def training_data(self, trainer: Trainer, plan: feature_cache.CachePlan | None) -> tuple[Any, Any, Any] | None: ...

    def notes(self, trainer: Trainer) -> list[str]: ...

    def final_metrics(self, trainer: Trainer) -> RunMetrics: ...


def task_for(config: ExperimentConfig) -> TrainingTask:
    """The strategy for `config.task`; an autoencoder architecture is one too (and then refuses
    a classification task clearly, in `check`)."""
    if config.task == "autoencoder":
        return AutoencoderTask()
    try:
        if get_architecture(config.arch.name).kind == "autoencoder":
            return AutoencoderTask()
    except ArchitectureError:  # an unknown architecture fails as a run, with its own message
        pass
    return ClassifierTask()


def loss_for(arch_name: str, label_smoothing: float = 0.0) -> Any:
    """What `model.compile(loss=...)` gets for the classifier `arch_name` (`ArchInfo.loss`):
    sparse categorical cross-entropy (smoothed when `label_smoothing` > 0), or CapsNet's margin
    loss, which reads capsule lengths (and is never smoothed)."""
    declared = get_architecture(arch_name).loss
    if declared == "margin":
        return MarginLoss()
    if declared == "reconstruction":
        raise ConfigError(f"{arch_name} is an autoencoder: train it with task autoencoder (--task autoencoder)")
    if label_smoothing > 0:
        return SmoothedSparseCrossentropy(label_smoothing)
    return "sparse_categorical_crossentropy"


def decode_first(trainer: Trainer) -> bool:
    """A class folder: decode what the disk cache lacks before the first epoch, so every epoch
    reads the cache and unreadable files are known before training starts. False if stopped."""
    try:
        trainer.dataset.prepare(trainer.cancel, PreparingReporter(trainer.observer, "decoding"))
    except Cancelled:
        return False
    return not trainer.cancel.cancelled


# --- classification ------------------------------------------------------------------------------
class ClassifierTask:
    name = "classification"
    divergence_hint = "Try a lower learning rate or turn batchnorm on."

    def __init__(self) -> None:
        self.applied: AppliedDecisions | None = None  # the user's label decisions, applied
        # (plan, features of both splits) while the head trains on a frozen base's cached features
        self.cached: tuple[feature_cache.CachePlan, FeatureSet] | None = None

    def check(self, config: ExperimentConfig) -> None:
        loss_for(config.arch.name)
        reason = frozen_random_base(config)
        if reason:
            raise ConfigError(reason)

    def dataset(self, dataset: Any, config: ExperimentConfig) -> tuple[Any, str]:
        self.applied = honour_decisions(dataset, config)
        return self.applied.dataset, self.applied.note

    def compile_args(self, config: ExperimentConfig) -> dict[str, Any]:
        return {"loss": loss_for(config.arch.name, config.training.label_smoothing), "metrics": ["accuracy"]}

    def notes(self, trainer: Trainer) -> list[str]:
        config, ds = trainer.config, trainer.dataset
        if config.data.validation == "test":
            return ["validating on the test split: no untouched test set is left (test figures = validation figures)"]
        if len(ds.y_val):
            return []
        stopping = "; early stopping is off" if config.training.early_stopping else ""
        return [
            f"no validation data (the dataset is too small to hold some back): validation figures stay empty{stopping}"
        ]

    def feature_plan(self, trainer: Trainer) -> tuple[feature_cache.CachePlan | None, str]:
        """Whether to train the head on cached features of a frozen prefix, and why (not)."""
        config, ds = trainer.config, trainer.dataset
        if not config.training.feature_cache:
            return None, "feature cache turned off"
        if config.augmentation.enabled:
            return None, "feature cache not used: augmentation changes the images every epoch"
        plan, why = feature_cache.plan(trainer.model)
        if plan is None:
            return None, f"feature cache not used: {why}"
        needed = feature_cache.feature_bytes(plan, len(ds.y_train) + len(ds.y_val))
        if not trainer.features.can_hold(needed):
            return None, (
                f"feature cache not used: the features ({format_bytes(needed)}) would not fit the memory "
                f"budget ({format_bytes(trainer.features.memory_limit_bytes)}) and no disk cache folder is set"
            )
        return plan, f"training on cached features ({why})"

    def training_data(self, trainer: Trainer, plan: feature_cache.CachePlan | None) -> tuple[Any, Any, Any] | None:
        """The model to fit and its data: the head on cached features when there is a plan.
        None when stopped while preparing them."""
        t, ds = trainer.config.training, trainer.dataset
        self.cached = None
        if plan is not None:
            features = self._features(trainer, plan)
            if features is None:
                return None
            train_ds, val_ds = self._feature_datasets(trainer, features)
            self.cached = (plan, features)
        else:
            if not decode_first(trainer):
                return None
            train_ds = ds.tf_dataset("train", t.batch_size, shuffle=True, seed=t.seed)
            train_ds = augment_dataset(train_ds, trainer.config.augmentation, t.seed)
            val_ds = ds.tf_dataset("validation", t.batch_size)
        # Keras cannot validate on nothing: no validation data means none is passed (figures null).
        return (plan.head if plan is not None else trainer.model), train_ds, (val_ds if len(ds.y_val) else None)

    def _features(self, trainer: Trainer, plan: feature_cache.CachePlan) -> FeatureSet | None:
        """The prefix's features: from the cache, or extracted now (None if stopped meanwhile)."""
        ds, cache = trainer.dataset, trainer.features
        prefix = feature_cache.prefix_digest(plan)
        samples = len(ds.y_train) + len(ds.y_val)
        dtype = cache.dtype_for(feature_cache.feature_bytes(plan, samples))
        found = cache.get(feature_cache.feature_key(prefix, ds, dtype))
        if found is not None:
            trainer.observer(Preparing("extracting", samples, samples, 0.0, from_cache=True))
            return found
        # On a GPU the images are decoded on the way, while the GPU runs the prefix. On the CPU
        # both would fight over the same cores (TensorFlow's threads stall whenever a decoding
        # thread takes their core), so a folder is decoded into its cache first, then read back.
        if not devices.configure_gpus() and not decode_first(trainer):
            return None

        def extract(dtype: np.dtype) -> FeatureSet:
            return feature_cache.extract(
                plan,
                ds,
                cache,
                prefix,
                dtype,
                cancel=trainer.cancel,
                progress=PreparingReporter(trainer.observer, "extracting"),
            )

        try:
            try:
                return extract(dtype)
            except FeatureOverflow:  # values beyond float16: extract again at full precision
                return extract(np.dtype(np.float32))
        except Cancelled:
            return None

    def _feature_datasets(self, trainer: Trainer, features: FeatureSet) -> tuple[Any, Any]:
        t, ds = trainer.config.training, trainer.dataset
        for split, labels in (("train", ds.y_train), ("validation", ds.y_val)):
            if len(features[split]) != len(labels):
                raise TrainingFailure(
                    f"the cached {split} features ({len(features[split])}) do not match the "
                    f"{len(labels)} {split} samples; clear the caches and train again",
                    "error",
                )
        return (
            feature_rows(features["train"], ds.y_train, t.batch_size, shuffle_seed=t.seed),
            feature_rows(features["validation"], ds.y_val, t.batch_size),
        )

    def final_metrics(self, trainer: Trainer) -> RunMetrics:
        result, ds = trainer.result, trainer.dataset
        if result.cancelled and not result.history:  # stopped before training: nothing to evaluate
            return RunMetrics(val_count=len(ds.y_val))
        probabilities = self._val_probabilities(trainer)
        metrics = final_metrics(probabilities, ds, result.history, trainer.restored_epoch)
        metrics = metrics.model_copy(update={"tta_views": len(self._flips(trainer))})
        test = final_test_figures(
            trainer.model, ds, trainer.config, metrics, cancelled=result.cancelled, flips=self._flips(trainer)
        )
        metrics, _ = after_training(
            metrics,
            model=trainer.model,
            dataset=ds,
            val_probabilities=probabilities,
            run_dir=result.run_dir,
            applied=self.applied,
            seed=trainer.config.training.seed,
            cached=self._head_features(),
            spec=trainer.spec,
        )
        return metrics.model_copy(update=test)

    def _head_features(self) -> tuple[Any, FeatureSet] | None:
        """(the head giving [penultimate features, probabilities], the cached features it reads)."""
        if self.cached is None:
            return None
        plan, features = self.cached
        return plan.head_features, features

    def _flips(self, trainer: Trainer) -> list[tuple[bool, bool]]:
        """The views the final figures average (the image alone without test-time augmentation;
        cached features have no images to mirror)."""
        tta = trainer.config.training.tta and self.cached is None
        return tta_flips(trainer.config.augmentation, tta)

    def _val_probabilities(self, trainer: Trainer) -> np.ndarray:
        """Validation outputs of the trained model (from cached features when there are some;
        averaged over the test-time augmentation's views when it is on)."""
        size = trainer.config.training.batch_size
        model, ds = trainer.model, trainer.dataset
        if self.cached is not None:
            head, features = self.cached[0].head, self.cached[1]["validation"]
            batches = (features.read_range(start, start + size) for start in range(0, len(features), size))
            forward = compiled_call(head)
        else:
            batches = ds.tf_dataset("validation", size).map(lambda x, y: x)
            forward = averaged_forward(model, self._flips(trainer))
        outputs = [np.asarray(forward(batch), np.float64) for batch in batches]
        return as_probabilities(model, np.concatenate(outputs)) if outputs else np.zeros((0, ds.num_classes))


def feature_rows(
    features: FeatureArray, labels: np.ndarray, batch_size: int, *, shuffle_seed: int | None = None
) -> Any:
    """(features, labels) batches read by index, from memory or from the cache's file: the same
    batches either way (the shuffled order is TensorFlow's, as for any in-memory data)."""
    labels = np.asarray(labels, np.int32)
    data = tf.data.Dataset.range(len(labels))
    if shuffle_seed is not None:
        data = data.shuffle(max(1, len(labels)), seed=shuffle_seed, reshuffle_each_iteration=True)

    def rows(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return features.read(index), labels[index]

    def fetch(index: Any) -> tuple[Any, Any]:
        x, y = tf.numpy_function(rows, [index], (tf.as_dtype(features.dtype), tf.int32), stateful=False)
        x.set_shape((None, *features.row_shape))
        y.set_shape((None,))
        return x, y

    return data.batch(max(1, int(batch_size))).map(fetch).prefetch(tf.data.AUTOTUNE)


# --- autoencoders ------------------------------------------------------------------------------------
class AutoencoderTask:
    name = "autoencoder"
    divergence_hint = "Try a lower learning rate."

    def __init__(self) -> None:
        self.noisy_val: np.ndarray | None = None

    def check(self, config: ExperimentConfig) -> None:
        """`ConfigError` unless the task and the architecture are both the autoencoder kind."""
        kind = get_architecture(config.arch.name).kind
        names = ", ".join(info.name for info in list_architectures("autoencoder"))
        if config.task != "autoencoder":
            raise ConfigError(f"{config.arch.name} is an autoencoder: set the task to autoencoder (--task autoencoder)")
        if kind != "autoencoder":
            raise ConfigError(f"task autoencoder needs an autoencoder architecture ({names}), not {config.arch.name}")

    def dataset(self, dataset: Any, config: ExperimentConfig) -> tuple[Any, str]:
        # Labels play no part in a reconstruction: the user's label decisions do not apply.
        self.noisy_val = add_noise(dataset.x_val, config.arch.noise, config.training.seed + 1)
        return dataset, ""

    def compile_args(self, config: ExperimentConfig) -> dict[str, Any]:
        return {"loss": "mean_squared_error"}

    def notes(self, trainer: Trainer) -> list[str]:
        noise = trainer.config.arch.noise
        what = (
            f"denoising: Gaussian noise σ={noise:g} (0..1 pixel scale) on the inputs"
            if noise > 0
            else "reconstructing the inputs as they are (arch.noise 0: not denoising)"
        )
        notes = [f"autoencoder, loss = mean squared error of the reconstruction; {what}"]
        if not len(trainer.dataset.x_val):
            notes.append("no validation data: validation figures stay empty")
        return notes

    def feature_plan(self, trainer: Trainer) -> tuple[feature_cache.CachePlan | None, str]:
        return None, ""  # the whole network learns to reconstruct: no frozen prefix feeds a head

    def training_data(self, trainer: Trainer, plan: feature_cache.CachePlan | None) -> tuple[Any, Any, Any] | None:
        if not decode_first(trainer):
            return None
        config, ds = trainer.config, trainer.dataset
        t = config.training
        noise = float(config.arch.noise) * 255.0
        augmented = augment_dataset(
            ds.tf_dataset("train", t.batch_size, shuffle=True, seed=t.seed), config.augmentation, t.seed
        )

        def noisy_pair(images: Any, labels: Any) -> tuple[Any, Any]:
            images = tf.cast(images, tf.float32)
            inputs = images
            if noise > 0:
                inputs = tf.clip_by_value(images + tf.random.normal(tf.shape(images), stddev=noise), 0.0, 255.0)
            return inputs, images / 255.0

        train_ds = carry_layers(augmented, augmented.map(noisy_pair, num_parallel_calls=tf.data.AUTOTUNE))
        validation = None
        if len(ds.x_val):
            clean = np.asarray(ds.x_val, np.float32) / 255.0
            validation = tf.data.Dataset.from_tensor_slices((self.noisy_val, clean)).batch(t.batch_size)
        return trainer.model, train_ds, validation

    def final_metrics(self, trainer: Trainer) -> RunMetrics:
        result, ds = trainer.result, trainer.dataset
        figures = reconstruction_figures(trainer.model, ds.x_val, self.noisy_val)
        last = result.history[-1] if result.history else None
        return RunMetrics(
            val_count=len(ds.x_val),
            val_loss=figures["reconstruction_error"],
            train_loss=last.loss if last else None,
            noise=float(trainer.config.arch.noise),
            **figures,
        )


def reconstruction_figures(model: Any, clean: np.ndarray, noisy: np.ndarray) -> dict[str, float | None]:
    """`reconstruction_error` and `noisy_input_error` (mean squared error on 0..1 pixels) of
    `model` over images `clean` (0..255) given as `noisy` (0..255); None without images."""
    if not len(clean):
        return {"reconstruction_error": None, "noisy_input_error": None}
    reconstructed = reconstruct_batches(model, noisy)
    target = np.asarray(clean, np.float32) / 255.0
    return {
        "reconstruction_error": float(np.mean((reconstructed - target) ** 2)),
        "noisy_input_error": float(np.mean((np.asarray(noisy, np.float32) / 255.0 - target) ** 2)),
    }


def reconstruct_batches(model: Any, images: np.ndarray) -> np.ndarray:
    """The model's outputs (0..1) for float images 0..255, in inference mode, batch by batch."""
    forward = compiled_call(model)
    outputs = [
        np.asarray(forward(tf.constant(np.asarray(images[i : i + EVALUATION_BATCH], np.float32))), np.float32)
        for i in range(0, len(images), EVALUATION_BATCH)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, *images.shape[1:]), np.float32)
