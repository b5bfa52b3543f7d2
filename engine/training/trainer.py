"""`train(config, observer, cancel)`: one synchronous training, safe to run in any thread, for
every task (a classifier or an autoencoder: engine.training.tasks says what differs).

It reports plain events (engine.core.events), stops within one batch when the cancel token is
set, never raises for a training fault (out of memory, divergence, an exception inside Keras: all
become a `Failed` event and a result with `failed` set), and always leaves a consistent run
folder behind: config and preprocessing at the start, history after every epoch, the model and
metrics at the end (also after a stop: the model so far is kept).

Before the epochs, a class folder's images are decoded in parallel into the disk cache (on a GPU,
with a frozen prefix, they are decoded on the way while the GPU extracts its features), then the
frozen prefix's features are extracted: `Preparing` events report both, and Stop works there
too. The caller owns the feature cache and the memory budget.

Finished epochs are checkpointed (engine.training.keeper), a run goes on from a checkpoint
(`resume`, `start_from`: engine.training.continuation), a `PauseToken` holds it after a batch, the
learning rate follows the config's schedule, and `training.deterministic` turns on TensorFlow's
op determinism for the run. Every option of `train` is honoured by every task.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras

from engine.architectures.layers import param_counts
from engine.caches.features import FeatureCache
from engine.config import ExperimentConfig
from engine.core.cancel import CancelToken, PauseToken
from engine.core.events import Failed, Finished, Observer, StageChanged, Started, ignore
from engine.core.memory import MemoryBudget
from engine.core.records import EpochRecord, RunMetrics
from engine.datasets import load_dataset
from engine.images.spec import PreprocessSpec
from engine.runs import folders as runs
from engine.runs.checkpoints import Checkpoint
from engine.runs.files import history_to_json
from engine.runtime import devices
from engine.runtime.determinism import op_determinism
from engine.runtime.graphs import forget_custom_gradients
from engine.training.callbacks import EngineCallback, TargetStop
from engine.training.continuation import Keeper, StartPoint, make_keeper, prepare_fit, restore_model, starting_point
from engine.training.failures import TrainingFailure, failure_of
from engine.training.optimizers import make_optimizer
from engine.training.pausing import pause_callbacks
from engine.training.schedules import schedule_callback
from engine.training.setup import model_for_training, precision_policy, unfreeze_last
from engine.training.tasks import TrainingTask, task_for

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
    reached_target: bool = False  # stopped at the first epoch reaching `training.target_accuracy`
    checkpoint_seconds: float = 0.0  # spent capturing and writing checkpoints (their cost)


@dataclass
class Stage:
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
    budget = memory_budget or MemoryBudget.default()
    trainer = Trainer(
        config,
        task_for(config),
        observer or ignore,
        cancel or CancelToken(),
        feature_cache or FeatureCache.default(budget),
        budget,
        pause,
    )
    # Else TensorFlow keeps every training's graph (graph_memory.py).
    with forget_custom_gradients(), op_determinism(config.training.deterministic), precision_policy(config):
        return trainer.run(dataset, run_dir, runs_root, resume, start_from)


class Trainer:
    """One call of `train`: its state from the first event to the last, and the steps between."""

    def __init__(
        self,
        config: ExperimentConfig,
        task: TrainingTask,
        observer: Observer,
        cancel: CancelToken,
        features: FeatureCache,
        budget: MemoryBudget,
        pause: PauseToken | None = None,
    ) -> None:
        self.config = config
        self.task = task
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
        self.notes: list[str] = []  # how `init_from` went, the label decisions: shown in `Started.note`
        self.restored_epoch: int | None = None  # the epoch whose weights early stopping restored

    # --- the whole run -------------------------------------------------------------------
    def run(
        self,
        dataset: Any,
        run_dir: str | Path | None,
        runs_root: str | Path | None,
        resume: bool = False,
        start_from: Checkpoint | None = None,
    ) -> TrainResult:
        try:
            self.task.check(self.config)
            self.start = starting_point(run_dir, resume, start_from)
            self._prepare(dataset, run_dir, runs_root)
            for stage in self.stages():
                if self.cancel.cancelled or self.result.stopped_early or self.result.reached_target:
                    break
                if self.start is None or stage.first_epoch + stage.epochs > self.start.first_epoch:
                    self._run_stage(stage)
            self._finish()
        except Exception as err:  # a fault inside Keras/TF too: report it, keep the app alive
            self._fail(*failure_of(err))
        return self.result

    def _prepare(self, dataset: Any, run_dir: str | Path | None, runs_root: str | Path | None) -> None:
        config = self.config
        keras.utils.set_random_seed(config.training.seed)
        devices.configure_gpus()
        if dataset is None:
            dataset = load_dataset(config.data, seed=config.training.seed, budget=self.budget)
        dataset, data_note = self.task.dataset(dataset, config)
        self.dataset = self.result.dataset = dataset
        self.spec = self.result.spec = PreprocessSpec.from_dataset(dataset)
        model, init_note = model_for_training(
            config, dataset, initialise=self.start is None
        )  # a checkpoint brings all the weights
        self.notes = [init_note, data_note]
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

    def stages(self) -> list[Stage]:
        t = self.config.training
        stages = [Stage(1, 0, t.epochs, t.learning_rate)]
        if t.stage2_epochs > 0:
            stages.append(
                Stage(2, t.epochs, t.stage2_epochs, t.learning_rate * t.stage2_lr_factor, t.stage2_unfreeze_last)
            )
        return stages

    # --- one stage -------------------------------------------------------------------------
    def _run_stage(self, stage: Stage) -> None:
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
        plan, cache_note = self.task.feature_plan(self)
        steps = max(1, math.ceil(len(self.dataset.y_train) / self.config.training.batch_size))
        total_epochs = sum(s.epochs for s in self.stages())
        if not self._started:
            self._started = True
            self._announce(total_epochs, steps, plan is not None, cache_note)
        prepared = self.task.training_data(self, plan)
        if prepared is None:  # stopped while decoding images or extracting features
            self.result.cancelled = True
            return
        fitted, train_ds, val_ds = prepared
        self.result.feature_cache_used = self.result.feature_cache_used or plan is not None
        fitted.compile(
            optimizer=make_optimizer(self.config.training, stage.learning_rate),
            jit_compile=self.config.training.xla,
            steps_per_execution=self.config.training.steps_per_execution,
            **self.task.compile_args(self.config),
        )
        train_ds, first_epoch = prepare_fit(
            self.start,
            self.keeper,
            self.model,
            fitted,
            train_ds,
            stage.number,
            stage.first_epoch,
            self.observer,
            total_epochs,
        )
        pausing = pause_callbacks(self.pause, self.cancel, self.observer)
        callback = EngineCallback(
            self.observer,
            self.cancel,
            steps=steps,
            epochs=total_epochs,
            stage=stage.number,
            t0=self.t0,
            on_epoch=self._record_epoch,
            elapsed_before=training_seconds(self.result.history),
            paused_seconds=lambda: sum(p.paused_seconds for p in pausing),
        )
        callbacks: list[Any] = [
            schedule_callback(stage.first_epoch, stage.epochs, stage.learning_rate, self.config.training, steps),
            callback,
            *pausing,
        ]
        target = None
        if self.config.training.target_accuracy is not None and val_ds is not None:
            target = TargetStop(self.config.training.target_accuracy)
            callbacks.append(target)
        stopper = None
        if self.config.training.early_stopping and val_ds is not None:
            stopper = keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.config.training.patience, restore_best_weights=True
            )
            callbacks.append(stopper)
        fitted.fit(
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
            raise TrainingFailure(f"training diverged: {callback.diverged}. {self.task.divergence_hint}", "nan")
        if self.cancel.cancelled:
            self.result.cancelled = True
        if stopper is not None and stopper.stopped_epoch > 0:
            self.result.stopped_early = True
        if target is not None and target.reached_epoch is not None and not self.cancel.cancelled:
            self.result.reached_target = True
        # Keras restores the best weights at the end of `fit` whenever it kept some, stopped or not.
        self.restored_epoch = stopper.best_epoch if stopper is not None and stopper.best_weights is not None else None

    def _announce(self, total_epochs: int, steps: int, cached: bool, cache_note: str) -> None:
        trainable, frozen = param_counts(self.model)
        note = "; ".join(n for n in (*self.notes, *self.task.notes(self), cache_note) if n)
        self.observer(
            Started(
                str(self.result.run_dir),
                total_epochs,
                steps,
                len(self.dataset.y_train),
                len(self.dataset.y_val),
                devices.device_name(),
                trainable,
                trainable + frozen,
                cached,
                note,
                self.dataset.num_classes if self.config.task == "classification" else 0,
            )
        )

    def _record_epoch(self, entry: EpochRecord) -> None:
        self.result.history.append(entry)
        runs.write_json(self.result.run_dir / runs.HISTORY, history_to_json(self.result.history), durable=False)
        self.keeper.epoch_done(entry, self.result.history)

    # --- the end ----------------------------------------------------------------------------
    def _finish(self) -> None:
        result = self.result
        metrics = self.task.final_metrics(self)
        trainable, frozen = param_counts(self.model)
        runs.save_model(self.model, result.run_dir)
        elapsed = time.perf_counter() - self.t0 + (self.start.state.elapsed_s if self.start else 0.0)
        result.metrics = metrics.model_copy(
            update={
                "cancelled": result.cancelled,
                "stopped_early": result.stopped_early,
                "feature_cache": result.feature_cache_used,
                "epochs_run": len(result.history),
                "trainable_params": trainable,
                "total_params": trainable + frozen,
                "seconds": round(elapsed, 3),
                "train_seconds": training_seconds(result.history) if result.history else None,
                "elapsed_seconds": [e.elapsed_seconds for e in result.history if e.elapsed_seconds is not None],
                "reached_target": result.reached_target,
            }
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
        if self.keeper is not None:
            self.keeper.flush_quietly()  # the last complete epoch, to resume from (e.g. at a lower rate)
        if result.run_dir is not None:
            try:
                runs.write_json(result.run_dir / runs.HISTORY, history_to_json(result.history))
                runs.write_json(result.run_dir / runs.METRICS, result.metrics.to_json_dict())
            except OSError:
                pass
        self.observer(Failed(reason, kind, str(result.run_dir or "")))


def training_seconds(history: list[EpochRecord]) -> float:
    """Seconds of training the epochs of `history` took: the last one's `elapsed_seconds`, or for
    epochs recorded before it existed (a resumed old run) the sum of their durations."""
    if not history:
        return 0.0
    last = history[-1].elapsed_seconds
    return float(last) if last is not None else float(sum(entry.seconds for entry in history))
