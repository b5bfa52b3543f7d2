"""`train(config, observer, cancel)`: one synchronous training, safe to run in any thread.

It reports plain events (engine.core.events), stops within one batch when the cancel token is set,
never raises for a training fault (out of memory, divergence, an exception inside Keras: all
become a `Failed` event and a result with `failed` set), and always leaves a consistent run
folder behind: config and preprocessing at the start, history after every epoch, the model and
metrics at the end (also after a stop: the model so far is kept).

Before the epochs, a class folder's images are decoded in parallel into the disk cache (on a GPU,
with a frozen prefix, they are decoded on the way while the GPU extracts its features), then the
frozen prefix's features are extracted: `Preparing` events report both, and Stop works there
too. The caller owns the feature cache and the memory budget.
Finished epochs are checkpointed (engine.training.keeper), a run goes on from a
checkpoint (`resume`, `start_from`: engine.training.continuation), a `PauseToken` holds it after
a batch, the learning rate follows the config's schedule, and `training.deterministic` turns on
TensorFlow's op determinism for the run.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from engine.architectures.outputs import as_probabilities
from engine.caches.features import FeatureArray, FeatureCache, FeatureOverflow, FeatureSet
from engine.config import ExperimentConfig
from engine.core.cancel import Cancelled, CancelToken, PauseToken
from engine.core.events import Failed, Finished, Observer, Preparing, StageChanged, Started, ignore
from engine.core.files import format_bytes
from engine.core.memory import MemoryBudget
from engine.core.records import EpochRecord, RunMetrics
from engine.images.spec import PreprocessSpec
from engine.runs import folders as runs
from engine.runs.checkpoints import Checkpoint
from engine.runs.files import history_to_json
from engine.runtime import devices as device
from engine.runtime.determinism import op_determinism
from engine.runtime.graphs import forget_custom_gradients
from engine.training import feature_cache, insight
from engine.training.augmentation import augment_dataset
from engine.training.callbacks import EngineCallback, PreparingReporter
from engine.training.continuation import Keeper, StartPoint, make_keeper, prepare_fit, restore_model, starting_point
from engine.training.failures import TrainingFailure, failure_of
from engine.training.losses import is_autoencoder, loss_for
from engine.training.optimizers import make_optimizer
from engine.training.pausing import pause_callbacks
from engine.training.schedules import schedule_callback

# A streamed folder's pipeline has no length Keras can read, so the first epoch of every `fit` ends
# when the stream does, and Keras says so with this warning each time. That is the design, not a
# fault: keep it off the user's terminal.
warnings.filterwarnings("ignore", message="Your input ran out of data", category=UserWarning)


@dataclass
class TrainResult:
    run_dir: Path | None
    history: list[EpochRecord] = field(default_factory=list)
    metrics: RunMetrics = field(default_factory=RunMetrics)
    cancelled: bool = False
    stopped_early: bool = False
    failed: str | None = None
    failed_kind: str | None = None
    model: Any = None
    spec: PreprocessSpec | None = None
    dataset: Any = None
    feature_cache_used: bool = False
    checkpoint_seconds: float = 0.0  # spent capturing and writing checkpoints (their cost)


@dataclass
class _Stage:
    number: int
    first_epoch: int
    epochs: int
    learning_rate: float
    unfreeze_last: int = 0


def train(
    config: ExperimentConfig,
    observer: Observer | None = None,
    cancel: CancelToken | None = None,
    *,
    dataset: Any = None,
    run_dir: str | Path | None = None,
    runs_root: str | Path | None = None,
    feature_cache: FeatureCache | None = None,
    memory_budget: MemoryBudget | None = None,
    pause: PauseToken | None = None,
    resume: bool = False,
    start_from: Checkpoint | None = None,
) -> TrainResult:
    """Train as `config` says; see the module docstring for the guarantees.

    `dataset`: what `engine.datasets.load_dataset` gave (loaded here when None, within
    `memory_budget`). `feature_cache`: where a frozen prefix's features are kept; pass the same
    object to every training to reuse them in memory (default: `FeatureCache.default(memory_budget)`
    for this call, which still finds sets written to the user's cache folder by earlier runs).
    `resume=True` with `run_dir`: go on with that run from its latest checkpoint (its last
    complete epoch) up to `config`'s planned epochs. `start_from`: go on from this checkpoint
    (another run's: a fork; see engine.training.resume). `pause`: hold after a batch while paused.
    """
    if is_autoencoder(config):  # reconstruction, not classification
        from engine.training.autoencoder import train_autoencoder

        with forget_custom_gradients():
            return train_autoencoder(
                config,
                observer or ignore,
                cancel or CancelToken(),
                dataset=dataset,
                run_dir=run_dir,
                runs_root=runs_root,
            )
    budget = memory_budget or MemoryBudget.default()
    session = _Session(
        config,
        observer or ignore,
        cancel or CancelToken(),
        feature_cache or FeatureCache.default(budget),
        budget,
        pause,
    )
    # Else TensorFlow keeps every training's graph (graph_memory.py).
    with forget_custom_gradients(), op_determinism(config.training.deterministic):
        return session.run(dataset, run_dir, runs_root, resume, start_from)


class _Session:
    def __init__(
        self,
        config: ExperimentConfig,
        observer: Observer,
        cancel: CancelToken,
        features: FeatureCache,
        budget: MemoryBudget,
        pause: PauseToken | None = None,
    ) -> None:
        self.config = config
        self.observer = observer
        self.cancel = cancel
        self.features = features
        self.budget = budget
        self.pause = pause
        self.start: StartPoint | None = None  # the checkpoint this training goes on from
        self.keeper: Keeper | None = None  # writes this training's checkpoints
        self._started = False
        self.result = TrainResult(run_dir=None)
        self.t0 = time.perf_counter()
        self.dataset: Any = None
        self.spec: PreprocessSpec | None = None
        self.model: Any = None
        self.init_note = ""  # how `init_from` went, shown in `Started.note`
        self.labels: insight.AppliedDecisions | None = None  # the user's label decisions, applied
        self.restored_epoch: int | None = None  # the epoch whose weights early stopping restored
        # (plan, features of both splits) while the head trains on a frozen base's cached features
        self._cached: tuple[feature_cache.CachePlan, FeatureSet] | None = None

    # --- the whole run -------------------------------------------------------------------
    def run(
        self,
        dataset: Any,
        run_dir: str | Path | None,
        runs_root: str | Path | None,
        resume: bool = False,
        start_from: Checkpoint | None = None,
    ) -> TrainResult:
        result = self.result
        policy = keras.mixed_precision.global_policy()  # restored after: training must not change it
        try:
            self.start = starting_point(run_dir, resume, start_from)
            self._prepare(dataset, run_dir, runs_root)
            for stage in self._stages():
                if self.cancel.cancelled or result.stopped_early:
                    break
                if self.start is None or stage.first_epoch + stage.epochs > self.start.first_epoch:
                    self._run_stage(stage)
            self._finish()
        except Exception as err:  # a fault inside Keras/TF too: report it, keep the app alive
            self._fail(*failure_of(err))
        finally:
            keras.mixed_precision.set_global_policy(policy)
        return result

    def _prepare(self, dataset: Any, run_dir: str | Path | None, runs_root: str | Path | None) -> None:
        from engine.architectures import build_model
        from engine.architectures.layers import apply_freezing

        config = self.config
        keras.utils.set_random_seed(config.training.seed)
        device.configure_gpus()
        if dataset is None:
            from engine.datasets import load_dataset

            dataset = load_dataset(config.data, seed=config.training.seed, budget=self.budget)
        self.labels = insight.honour_label_decisions(dataset, config)
        dataset = self.labels.dataset
        self.dataset = self.result.dataset = dataset
        self.spec = self.result.spec = PreprocessSpec.from_dataset(dataset)
        # The config decides, whatever policy was in force (restored when training ends).
        keras.mixed_precision.set_global_policy("mixed_float16" if config.training.mixed_precision else "float32")
        with device.strategy().scope():
            model = build_model(config.arch, dataset.input_shape, dataset.num_classes)
        if config.init_from and self.start is None:  # a checkpoint brings all the weights
            self.init_note = initialise_from(model, config.init_from)
        apply_freezing(model, config.layer_trainable, config.freeze_all_but)
        if self.start is not None:
            restore_model(model, self.start.state)
            self.result.history = list(self.start.state.history)
        self.model = self.result.model = model
        path = (
            Path(run_dir) if run_dir is not None else runs.new_run_dir(config, Path(runs_root) if runs_root else None)
        )
        path.mkdir(parents=True, exist_ok=True)
        self.result.run_dir = path
        self.keeper = make_keeper(path, self.observer, self.start)
        runs.write_json(path / runs.CONFIG, config.to_dict())
        runs.write_json(path / runs.PREPROCESS, self.spec.to_dict())
        runs.write_json(path / runs.HISTORY, history_to_json(self.result.history))

    def _stages(self) -> list[_Stage]:
        t = self.config.training
        stages = [_Stage(1, 0, t.epochs, t.learning_rate)]
        if t.stage2_epochs > 0:
            stages.append(
                _Stage(2, t.epochs, t.stage2_epochs, t.learning_rate * t.stage2_lr_factor, t.stage2_unfreeze_last)
            )
        return stages

    # --- one stage -------------------------------------------------------------------------
    def _run_stage(self, stage: _Stage) -> None:
        from engine.architectures.layers import param_counts

        if stage.number > 1:
            unfreeze_last(self.model, stage.unfreeze_last)
            trainable, _ = param_counts(self.model)
            self.observer(
                StageChanged(
                    stage.number,
                    stage.first_epoch,
                    stage.learning_rate,
                    trainable,
                    f"fine-tuning: unfroze the last {stage.unfreeze_last} layers, learning rate {stage.learning_rate:g}",
                )
            )
        plan, note = self._cache_plan()
        labels_note = self.labels.note if self.labels else ""
        note = "; ".join(n for n in (self.init_note, labels_note, self._validation_note(), note) if n)
        steps = max(1, math.ceil(len(self.dataset.y_train) / self.config.training.batch_size))
        total_epochs = sum(s.epochs for s in self._stages())
        if not self._started:
            self._started = True
            trainable, frozen = param_counts(self.model)
            self.observer(
                Started(
                    str(self.result.run_dir),
                    total_epochs,
                    steps,
                    len(self.dataset.y_train),
                    len(self.dataset.y_val),
                    device.device_name(),
                    trainable,
                    trainable + frozen,
                    plan is not None,
                    note,
                )
            )
        prepared = self._training_data(plan)
        if prepared is None:  # stopped while decoding images or extracting features
            self.result.cancelled = True
            return
        model, train_ds, val_ds = prepared
        self.result.feature_cache_used = self.result.feature_cache_used or plan is not None
        model.compile(
            optimizer=self._optimizer(stage.learning_rate),
            loss=loss_for(self.config.arch.name),
            metrics=["accuracy"],
            jit_compile=self.config.training.xla,
        )
        train_ds, first_epoch = prepare_fit(
            self.start,
            self.keeper,
            self.model,
            model,
            train_ds,
            stage.number,
            stage.first_epoch,
            self.observer,
            total_epochs,
        )
        callback = EngineCallback(
            self.observer,
            self.cancel,
            steps=steps,
            epochs=total_epochs,
            stage=stage.number,
            t0=self.t0,
            on_epoch=self._record_epoch,
        )
        callbacks: list[Any] = [
            schedule_callback(stage.first_epoch, stage.epochs, stage.learning_rate, self.config.training),
            callback,
            *pause_callbacks(self.pause, self.cancel, self.observer),
        ]
        stopper = None
        if self.config.training.early_stopping and val_ds is not None:
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.config.training.patience, restore_best_weights=True
            )
            callbacks.append(stopper)
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=stage.first_epoch + stage.epochs,
            initial_epoch=first_epoch,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,
        )
        self.keeper.flush()  # the last complete epoch: always at the end, on Stop and before a failure
        self.result.checkpoint_seconds = self.keeper.spent_s
        if callback.diverged:
            raise TrainingFailure(
                f"training diverged: {callback.diverged}. Try a lower learning rate or turn batchnorm on.", "nan"
            )
        if self.cancel.cancelled:
            self.result.cancelled = True
        if stopper is not None and stopper.stopped_epoch > 0:
            self.result.stopped_early = True
        # Keras restores the best weights at the end of `fit` whenever it kept some, stopped or not.
        self.restored_epoch = stopper.best_epoch if stopper is not None and stopper.best_weights is not None else None

    def _cache_plan(self) -> tuple[feature_cache.CachePlan | None, str]:
        """Whether to train the head on cached features of a frozen prefix, and why (not)."""
        t = self.config.training
        ds = self.dataset
        if not t.feature_cache:
            return None, "feature cache turned off"
        if self.config.augmentation.enabled:
            return None, "feature cache not used: augmentation changes the images every epoch"
        plan, why = feature_cache.plan(self.model)
        if plan is None:
            return None, f"feature cache not used: {why}"
        needed = feature_cache.feature_bytes(plan, len(ds.y_train) + len(ds.y_val))
        if not self.features.can_hold(needed):
            return None, (
                f"feature cache not used: the features ({format_bytes(needed)}) would not fit the memory "
                f"budget ({format_bytes(self.features.memory_limit_bytes)}) and no disk cache folder is set"
            )
        return plan, f"training on cached features ({why})"

    def _training_data(self, plan: feature_cache.CachePlan | None) -> tuple[Any, Any, Any] | None:
        """The model to fit and its data: the head on cached features when there is a plan.
        None when stopped while preparing them."""
        t = self.config.training
        ds = self.dataset
        self._cached = None
        if plan is not None:
            features = self._features(plan)
            if features is None:
                return None
            train_ds, val_ds = self._feature_datasets(features)
            self._cached = (plan, features)
        else:
            if not self._decode_images():
                return None
            train_ds = ds.tf_dataset("train", t.batch_size, shuffle=True, seed=t.seed)
            train_ds = augment_dataset(train_ds, self.config.augmentation, t.seed)
            val_ds = ds.tf_dataset("validation", t.batch_size)
        # Keras cannot validate on nothing: no validation data means none is passed (figures null).
        return (plan.head if plan is not None else self.model), train_ds, (val_ds if len(ds.y_val) else None)

    def _decode_images(self) -> bool:
        """A class folder: decode what the disk cache lacks before the first epoch, so every epoch
        reads the cache and unreadable files are known before training starts. False if stopped."""
        try:
            self.dataset.prepare(self.cancel, PreparingReporter(self.observer, "decoding"))
        except Cancelled:
            return False
        return not self.cancel.cancelled

    def _validation_note(self) -> str:
        if self.config.data.validation == "test":
            return "validating on the test split: no untouched test set is left (test figures = validation figures)"
        if len(self.dataset.y_val):
            return ""
        stopping = "; early stopping is off" if self.config.training.early_stopping else ""
        return (
            f"no validation data (the dataset is too small to hold some back): validation figures stay empty{stopping}"
        )

    def _features(self, plan: feature_cache.CachePlan) -> FeatureSet | None:
        """The prefix's features: from the cache, or extracted now (None if stopped meanwhile)."""
        ds = self.dataset
        prefix = feature_cache.prefix_digest(plan)
        samples = len(ds.y_train) + len(ds.y_val)
        dtype = self.features.dtype_for(feature_cache.feature_bytes(plan, samples))
        found = self.features.get(feature_cache.feature_key(prefix, ds, dtype))
        if found is not None:
            self.observer(Preparing("extracting", samples, samples, 0.0, from_cache=True))
            return found
        # On a GPU the images are decoded on the way, while the GPU runs the prefix. On the CPU
        # both would fight over the same cores (TensorFlow's threads stall whenever a decoding
        # thread takes their core), so a folder is decoded into its cache first, then read back.
        if not device.configure_gpus() and not self._decode_images():
            return None
        try:
            try:
                return self._extract(plan, prefix, dtype)
            except FeatureOverflow:  # values beyond float16: extract again at full precision
                return self._extract(plan, prefix, np.dtype(np.float32))
        except Cancelled:
            return None

    def _extract(self, plan: feature_cache.CachePlan, prefix: str, dtype: np.dtype) -> FeatureSet:
        return feature_cache.extract(
            plan,
            self.dataset,
            self.features,
            prefix,
            dtype,
            cancel=self.cancel,
            progress=PreparingReporter(self.observer, "extracting"),
        )

    def _feature_datasets(self, features: FeatureSet) -> tuple[Any, Any]:
        t = self.config.training
        ds = self.dataset
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

    def _optimizer(self, learning_rate: float) -> Any:
        return make_optimizer(self.config.training, learning_rate)

    def _record_epoch(self, entry: EpochRecord) -> None:
        self.result.history.append(entry)
        runs.write_json(self.result.run_dir / runs.HISTORY, history_to_json(self.result.history), durable=False)
        self.keeper.epoch_done(entry, self.result.history)

    # --- the end ----------------------------------------------------------------------------
    def _finish(self) -> None:
        from engine.architectures.layers import param_counts
        from engine.training.evaluation import final_metrics
        from engine.training.testing import final_test_figures

        result = self.result
        if result.cancelled and not result.history:  # stopped before training: nothing to evaluate
            metrics, test = RunMetrics(val_count=len(self.dataset.y_val)), {}
        else:
            probabilities = self._val_probabilities()
            metrics = final_metrics(probabilities, self.dataset, result.history, self.restored_epoch)
            test = final_test_figures(self.model, self.dataset, self.config, metrics, cancelled=result.cancelled)
            metrics, _ = insight.after_training(
                metrics,
                model=self.model,
                dataset=self.dataset,
                val_probabilities=probabilities,
                run_dir=result.run_dir,
                applied=self.labels,
                seed=self.config.training.seed,
                cached=self._head_features(),
            )
        trainable, frozen = param_counts(self.model)
        runs.save_model(self.model, result.run_dir)
        result.metrics = metrics.model_copy(
            update={
                "cancelled": result.cancelled,
                "stopped_early": result.stopped_early,
                "feature_cache": result.feature_cache_used,
                "epochs_run": len(result.history),
                **test,
                "trainable_params": trainable,
                "total_params": trainable + frozen,
                "seconds": round(
                    time.perf_counter() - self.t0 + (self.start.state.elapsed_s if self.start else 0.0), 3
                ),
            }
        )
        runs.write_json(result.run_dir / runs.HISTORY, history_to_json(result.history))
        runs.write_json(result.run_dir / runs.METRICS, result.metrics.to_json_dict())
        self.observer(
            Finished(str(result.run_dir), len(result.history), result.cancelled, result.stopped_early, result.metrics)
        )

    def _head_features(self) -> tuple[Any, FeatureSet] | None:
        """(the head giving [penultimate features, probabilities], the cached features it reads)."""
        if self._cached is None:
            return None
        plan, features = self._cached
        return plan.head_features, features

    def _val_probabilities(self) -> np.ndarray:
        """Validation outputs of the trained model (from cached features when there are some)."""
        size = self.config.training.batch_size
        if self._cached is not None:
            head, features = self._cached[0].head, self._cached[1]["validation"]
            batches = (features.read_range(start, start + size) for start in range(0, len(features), size))
            forward = tf.function(lambda x: head(x, training=False), reduce_retracing=True)
        else:
            batches = self.dataset.tf_dataset("validation", size).map(lambda x, y: x)
            forward = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)
        outputs = [np.asarray(forward(batch), np.float64) for batch in batches]
        return (
            as_probabilities(self.model, np.concatenate(outputs))
            if outputs
            else np.zeros((0, self.dataset.num_classes))
        )

    def _fail(self, reason: str, kind: str) -> None:
        result = self.result
        result.failed, result.failed_kind = reason, kind
        result.metrics = RunMetrics.failure(reason, kind, len(result.history))
        if self.keeper is not None:
            self.keeper.flush_quietly()  # the last complete epoch, to resume from (e.g. at a lower rate)
        if result.run_dir is not None:
            try:
                runs.write_json(result.run_dir / runs.HISTORY, history_to_json(result.history))
                runs.write_json(result.run_dir / runs.METRICS, result.metrics.to_json_dict())
            except OSError:
                pass
        self.observer(Failed(reason, kind, str(result.run_dir or "")))


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


def initialise_from(model: Any, source: str) -> str:
    """Copy the weights of a saved run's model into `model`, layer by layer (same name and shapes).

    This is how a model trained earlier becomes the frozen base of a new experiment. An `.h5`
    file (published weights) is read by engine.architectures.h5_weights.
    """
    from engine.core.errors import ConfigError
    from engine.runs.folders import MODEL
    from engine.runs.models import load_model_file

    path = Path(source).expanduser()
    if path.suffix == ".h5":  # published weights, e.g. VGG16's ImageNet file
        from engine.architectures.h5_weights import copy_h5_weights

        return copy_h5_weights(model, path)
    trained = load_model_file(path if path.suffix == ".keras" else path / MODEL)
    copied = 0
    for layer in model.layers:
        try:
            other = trained.get_layer(layer.name)
        except ValueError:
            continue
        mine, theirs = layer.get_weights(), other.get_weights()
        if mine and len(mine) == len(theirs) and all(a.shape == b.shape for a, b in zip(mine, theirs)):
            layer.set_weights(theirs)
            copied += 1
    if not copied:
        raise ConfigError(f"no layer of {path} matches this architecture (same name and weight shapes)")
    return f"started from {copied} layers of {path.name}"


def unfreeze_last(model: Any, count: int) -> None:
    """Make the last `count` frozen layers with weights trainable (BatchNorm stays frozen).

    BatchNorm layers keep running in inference mode, the usual advice when fine-tuning a
    pretrained base on a small dataset: their statistics would otherwise be overwritten.
    """
    unfrozen = 0
    for layer in reversed(model.layers):
        if unfrozen >= count:
            break
        if not layer.weights or layer.trainable or isinstance(layer, keras.layers.BatchNormalization):
            continue
        layer.trainable = True
        unfrozen += 1
