"""Training an autoencoder (`config.task == "autoencoder"`): `train` hands the config here.

The same promises as the classification trainer (engine.training.trainer): synchronous, any
thread, the same events (`Started`, `BatchEnd`, `EpochEnd`, then `Finished` or `Failed`; the
accuracy fields are NaN: there is nothing to classify, the loss is the reconstruction error),
stops within a batch, never raises for a training fault or a user mistake, and leaves an ordinary
run folder: `config.json`, `preprocess.json`, `history.json` (accuracy null), `model.keras`,
`metrics.json`.

The loss is the mean squared error between the model's output and the clean image, both on the
0..1 pixel scale. Denoising (`arch.noise` = σ > 0): every training batch gets fresh Gaussian noise
of std σ (on that scale, clipped to 0..1) before the model sees it; the validation images get
noise once, from the seed, so every epoch is judged on the same noisy images. At the end
`metrics.json` holds the figure a denoiser is judged by: `reconstruction_error` (the
reconstructions of the noisy validation images against the clean ones) against
`noisy_input_error` (the noisy images themselves against the clean ones).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken
from engine.core.errors import ConfigError
from engine.core.events import Failed, Finished, Observer, Started
from engine.core.records import EpochRecord, RunMetrics
from engine.images.spec import PreprocessSpec
from engine.inference.reconstruction import add_noise
from engine.runs import folders as runs
from engine.runs.files import history_to_json
from engine.runtime import devices as device
from engine.training.augmentation import augment_dataset
from engine.training.callbacks import EngineCallback
from engine.training.failures import TrainingFailure, failure_of

EVALUATION_BATCH = 256


class ReconstructionCallback(EngineCallback):
    """LayerLab's callback for a model without accuracy: batch events carry NaN accuracy (the
    classification callback would report 0)."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        super().on_train_batch_end(batch, {**(logs or {}), "accuracy": math.nan})


def check_autoencoder_config(config: ExperimentConfig) -> None:
    """`ConfigError` unless the task and the architecture are both the autoencoder kind."""
    from engine.architectures import get_architecture, list_architectures

    kind = get_architecture(config.arch.name).kind
    names = ", ".join(info.name for info in list_architectures("autoencoder"))
    if config.task != "autoencoder":
        raise ConfigError(f"{config.arch.name} is an autoencoder: set the task to autoencoder (--task autoencoder)")
    if kind != "autoencoder":
        raise ConfigError(f"task autoencoder needs an autoencoder architecture ({names}), not {config.arch.name}")


def make_optimizer(config: ExperimentConfig) -> Any:
    """The optimizer the config names (as the classification trainer makes it)."""
    t = config.training
    if t.optimizer == "sgd":
        return keras.optimizers.SGD(t.learning_rate, momentum=t.momentum)
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(t.learning_rate)
    return keras.optimizers.Adam(t.learning_rate)


def train_autoencoder(
    config: ExperimentConfig,
    observer: Observer,
    cancel: CancelToken,
    *,
    dataset: Any = None,
    run_dir: str | Path | None = None,
    runs_root: str | Path | None = None,
) -> Any:
    """Train the autoencoder `config` describes; returns the trainer's `TrainResult`."""
    return _Session(config, observer, cancel).run(dataset, run_dir, runs_root)


class _Session:
    def __init__(self, config: ExperimentConfig, observer: Observer, cancel: CancelToken) -> None:
        from engine.training.trainer import TrainResult

        self.config, self.observer, self.cancel = config, observer, cancel
        self.result = TrainResult(run_dir=None)
        self.t0 = time.perf_counter()
        self.model: Any = None
        self.dataset: Any = None
        self.noisy_val: np.ndarray | None = None
        self.init_note = ""

    def run(self, dataset: Any, run_dir: str | Path | None, runs_root: str | Path | None) -> Any:
        policy = keras.mixed_precision.global_policy()
        try:
            self._prepare(dataset, run_dir, runs_root)
            self._fit()
            self._finish()
        except Exception as err:  # a fault inside Keras/TF too: report it, keep the app alive
            self._fail(*failure_of(err))
        finally:
            keras.mixed_precision.set_global_policy(policy)
        return self.result

    def _prepare(self, dataset: Any, run_dir: str | Path | None, runs_root: str | Path | None) -> None:
        from engine.architectures import build_model
        from engine.architectures.layers import apply_freezing
        from engine.training.trainer import initialise_from

        config = self.config
        check_autoencoder_config(config)
        keras.utils.set_random_seed(config.training.seed)
        device.configure_gpus()
        if dataset is None:
            from engine.datasets import load_dataset

            dataset = load_dataset(config.data, seed=config.training.seed)
        self.dataset = self.result.dataset = dataset
        spec = self.result.spec = PreprocessSpec.from_dataset(dataset)
        keras.mixed_precision.set_global_policy("mixed_float16" if config.training.mixed_precision else "float32")
        with device.strategy().scope():
            self.model = self.result.model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
        if config.init_from:
            self.init_note = initialise_from(self.model, config.init_from)
        apply_freezing(self.model, config.layer_trainable, config.freeze_all_but)
        path = (
            Path(run_dir) if run_dir is not None else runs.new_run_dir(config, Path(runs_root) if runs_root else None)
        )
        path.mkdir(parents=True, exist_ok=True)
        self.result.run_dir = path
        runs.write_json(path / runs.CONFIG, config.to_dict())
        runs.write_json(path / runs.PREPROCESS, spec.to_dict())
        runs.write_json(path / runs.HISTORY, [])
        self.noisy_val = add_noise(dataset.x_val, config.arch.noise, config.training.seed + 1)

    def _note(self) -> str:
        noise = self.config.arch.noise
        what = (
            f"denoising: Gaussian noise σ={noise:g} (0..1 pixel scale) on the inputs"
            if noise > 0
            else "reconstructing the inputs as they are (arch.noise 0: not denoising)"
        )
        parts = [f"autoencoder, loss = mean squared error of the reconstruction; {what}", self.init_note]
        if not len(self.dataset.x_val):
            parts.append("no validation data: validation figures stay empty")
        return "; ".join(p for p in parts if p)

    def _train_data(self) -> Any:
        t = self.config.training
        noise = float(self.config.arch.noise) * 255.0
        data = self.dataset.tf_dataset("train", t.batch_size, shuffle=True, seed=t.seed)
        data = augment_dataset(data, self.config.augmentation, t.seed)

        def noisy_pair(images: Any, labels: Any) -> tuple[Any, Any]:
            images = tf.cast(images, tf.float32)
            inputs = images
            if noise > 0:
                inputs = tf.clip_by_value(images + tf.random.normal(tf.shape(images), stddev=noise), 0.0, 255.0)
            return inputs, images / 255.0

        return data.map(noisy_pair, num_parallel_calls=tf.data.AUTOTUNE)

    def _validation_data(self) -> Any:
        if not len(self.dataset.x_val):
            return None
        clean = np.asarray(self.dataset.x_val, np.float32) / 255.0
        return tf.data.Dataset.from_tensor_slices((self.noisy_val, clean)).batch(self.config.training.batch_size)

    def _fit(self) -> None:
        from engine.architectures.layers import param_counts

        t = self.config.training
        ds = self.dataset
        steps = max(1, math.ceil(len(ds.x_train) / t.batch_size))
        trainable, frozen = param_counts(self.model)
        self.observer(
            Started(
                str(self.result.run_dir),
                t.epochs,
                steps,
                len(ds.x_train),
                len(ds.x_val),
                device.device_name(),
                trainable,
                trainable + frozen,
                False,
                self._note(),
            )
        )
        self.model.compile(optimizer=make_optimizer(self.config), loss="mean_squared_error", jit_compile=t.xla)
        callback = ReconstructionCallback(
            self.observer, self.cancel, steps=steps, epochs=t.epochs, stage=1, t0=self.t0, on_epoch=self._record_epoch
        )
        callbacks: list[Any] = [callback]
        validation = self._validation_data()
        stopper = None
        if t.early_stopping and validation is not None:
            stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=t.patience, restore_best_weights=True)
            callbacks.append(stopper)
        self.model.fit(
            self._train_data(),
            validation_data=validation,
            epochs=t.epochs,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,
        )
        if callback.diverged:
            raise TrainingFailure(f"training diverged: {callback.diverged}. Try a lower learning rate.", "nan")
        self.result.cancelled = self.cancel.cancelled
        self.result.stopped_early = bool(stopper is not None and stopper.stopped_epoch > 0)

    def _record_epoch(self, entry: EpochRecord) -> None:
        self.result.history.append(entry)
        runs.write_json(self.result.run_dir / runs.HISTORY, history_to_json(self.result.history), durable=False)

    def _finish(self) -> None:
        from engine.architectures.layers import param_counts

        result = self.result
        figures = reconstruction_figures(self.model, self.dataset.x_val, self.noisy_val)
        trainable, frozen = param_counts(self.model)
        last = result.history[-1] if result.history else None
        runs.save_model(self.model, result.run_dir)
        result.metrics = RunMetrics(
            val_count=len(self.dataset.x_val),
            val_loss=figures["reconstruction_error"],
            train_loss=last.loss if last else None,
            cancelled=result.cancelled,
            stopped_early=result.stopped_early,
            epochs_run=len(result.history),
            trainable_params=trainable,
            total_params=trainable + frozen,
            seconds=round(time.perf_counter() - self.t0, 3),
            noise=float(self.config.arch.noise),
            **figures,
        )
        runs.write_json(result.run_dir / runs.HISTORY, history_to_json(result.history))
        runs.write_json(result.run_dir / runs.METRICS, result.metrics.to_json_dict())
        self.observer(
            Finished(str(result.run_dir), len(result.history), result.cancelled, result.stopped_early, result.metrics)
        )

    def _fail(self, reason: str, kind: str) -> None:
        result = self.result
        result.failed, result.failed_kind = reason, kind
        result.metrics = RunMetrics.failure(reason, kind, len(result.history))
        if result.run_dir is not None:
            try:
                runs.write_json(result.run_dir / runs.HISTORY, history_to_json(result.history))
                runs.write_json(result.run_dir / runs.METRICS, result.metrics.to_json_dict())
            except OSError:
                pass
        self.observer(Failed(reason, kind, str(result.run_dir or "")))


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
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    outputs = [
        np.asarray(forward(tf.constant(np.asarray(images[i : i + EVALUATION_BATCH], np.float32))), np.float32)
        for i in range(0, len(images), EVALUATION_BATCH)
    ]
    return np.concatenate(outputs) if outputs else np.zeros((0, *images.shape[1:]), np.float32)
