"""Qt runners around engine calls: everything slow or TensorFlow-bound runs here, off the UI thread.

Two shapes:
- `Worker`: a single background thread that runs submitted calls in order and hands each result
  (or exception) back to a callback on the UI thread, through a queued signal. Serial on purpose:
  model building, classification and run loading share TensorFlow state and never race.
- `TrainingRunner`: one long training in a QThread; every engine event is re-emitted through one
  queued `event` signal, and the `TrainResult` through `finished`.

The job functions at the bottom are the only places in `gui` that import TensorFlow-bound engine
modules, and they do it inside the function, in the worker thread.
"""
from __future__ import annotations

import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from engine.cancel import CancelToken
from engine.config import ArchOptions, DataOptions, ExperimentConfig
from engine.errors import LayerLabError
from gui.engine_loader import engine_loader

Callback = Callable[[Any], None] | None


class Worker(QObject):
    """Runs calls one after another in its own thread; results come back on the UI thread."""

    # One (callback, value) tuple, queued from the pool thread. A tuple, never a bare None: PySide
    # mishandles the reference count of None passed through a queued Signal(object).
    _deliver = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"layerlab-{name}")
        self._pending = 0
        self._closed = False
        self._deliver.connect(self._on_deliver)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def submit(self, fn: Callable[..., Any], *args: Any, on_result: Callback = None, on_error: Callback = None) -> Future | None:
        """Run `fn(*args)` in the worker; then `on_result(value)` or `on_error(exception)` on the UI thread."""
        if self._closed:
            return None
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)

        def run() -> None:
            try:
                value = fn(*args)
            except BaseException as err:  # reported to the UI, never lost in the thread
                if not isinstance(err, LayerLabError):
                    err.details = traceback.format_exc()  # type: ignore[attr-defined]
                self._deliver.emit((on_error, err))
            else:
                self._deliver.emit((on_result, value))

        return self._pool.submit(run)

    def _on_deliver(self, delivery: tuple[Callback, Any]) -> None:
        callback, value = delivery
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)
        if callback is not None and not self._closed:
            callback(value)

    def shutdown(self) -> None:
        """Drop queued calls and wait for the running one (closing the window)."""
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class TrainingCrash:
    """What `finished` carries when `train` itself raised (it should not; the app survives anyway)."""

    error: BaseException
    details: str = ""


class TrainingRunner(QThread):
    """One training at a time, in a QThread; events arrive on the UI thread as `event(obj)`."""

    event = Signal(object)       # engine.events.*
    result_ready = Signal(object)  # TrainResult or TrainingCrash

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._config: ExperimentConfig | None = None
        self._dataset: Any = None
        self._runs_root: Path | None = None
        self._cancel = CancelToken()

    def start_training(self, config: ExperimentConfig, dataset: Any = None, runs_root: Path | None = None) -> None:
        if self.isRunning():
            raise RuntimeError("a training is already running")
        self._config, self._dataset, self._runs_root = config, dataset, runs_root
        self._cancel = CancelToken()
        self.start()

    def cancel(self) -> None:
        """Ask the engine to stop; it does within one batch and still saves the run."""
        self._cancel.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancel.cancelled

    def run(self) -> None:  # the worker thread
        try:
            engine_loader().wait_ready()
            from engine.training import train

            result: Any = train(self._config, self.event.emit, self._cancel, dataset=self._dataset, runs_root=self._runs_root)
        except BaseException as err:
            result = TrainingCrash(err, traceback.format_exc())
        finally:
            self._dataset = None  # the UI thread keeps its own reference
        self.result_ready.emit(result)


# --- jobs (run in worker threads) -----------------------------------------------------------------

#: Datasets whose loading imports no TensorFlow: they load while the engine is still starting.
FAST_DATASETS = frozenset({"digits", "shapes"})


def dataset_key(data: DataOptions, seed: int) -> str:
    """Two configs with the same key load the very same dataset (same split, size, limit)."""
    return f"{data.model_dump_json()}|seed={seed}"


@dataclass
class DatasetBundle:
    key: str
    dataset: Any
    samples: dict[int, Any]


def load_dataset_job(data: DataOptions, seed: int, per_class: int) -> DatasetBundle:
    if data.name not in FAST_DATASETS:
        engine_loader().wait_ready()
    from engine.datasets import load_dataset

    dataset = load_dataset(data, seed=seed)
    return DatasetBundle(dataset_key(data, seed), dataset, dataset.samples(per_class))


@dataclass
class Inspection:
    """What the layer table shows for one (architecture, dataset) pair and freezing choice."""

    generation: int
    rows: list[Any]                       # engine.layers.LayerInfo
    trainable: int
    total: int
    layer_trainable: dict[str, bool]      # the overrides that still name a layer of this model
    error: str = ""


@dataclass
class _ModelCache:
    """The last built model, reused while only freezing changes (building a backbone takes seconds)."""

    key: str = ""
    model: Any = None
    initial: dict[str, bool] = field(default_factory=dict)


_MODEL_CACHE = _ModelCache()


def inspect_model_job(generation: int, arch: ArchOptions, input_shape: tuple[int, int, int], num_classes: int,
                      layer_trainable: dict[str, bool], freeze_all_but: int | None) -> Inspection:
    """Build (or reuse) the model and apply the freezing choices, as training would."""
    engine_loader().wait_ready()
    from engine.architectures import build_model
    from engine.layers import apply_freezing, layer_table, param_counts

    key = f"{arch.model_dump_json()}|{tuple(input_shape)}|{num_classes}"
    cache = _MODEL_CACHE
    if cache.key != key:
        cache.key, cache.model = "", None  # free the old one before building the next (which may fail)
        model = build_model(arch, tuple(input_shape), num_classes)
        cache.key, cache.model = key, model
        cache.initial = {layer.name: bool(layer.trainable) for layer in model.layers}
    model = cache.model
    for layer in model.layers:
        layer.trainable = cache.initial[layer.name]
    known = {name: value for name, value in layer_trainable.items() if name in cache.initial}
    apply_freezing(model, known, freeze_all_but)
    trainable, frozen = param_counts(model)
    return Inspection(generation, layer_table(model, arch.name), trainable, trainable + frozen, known)


def make_classifier_job(model: Any, spec: Any, class_names: list[str]) -> Any:
    engine_loader().wait_ready()
    from engine.inference import Classifier

    return Classifier(model, spec, class_names)


@dataclass
class OpenedRun:
    run: Any            # engine.runs.Run
    classifier: Any     # engine.inference.Classifier or None when the run has no model
    problem: str = ""


def open_run_job(path: str) -> OpenedRun:
    from engine.runs import load_run

    run = load_run(path)
    if not run.model_path.is_file():
        return OpenedRun(run, None, "this run has no saved model (it failed or was stopped before saving)")
    engine_loader().wait_ready()
    from engine.inference import Classifier

    try:
        return OpenedRun(run, Classifier.from_run(path))
    except LayerLabError as err:
        return OpenedRun(run, None, str(err))


@dataclass
class Classified:
    """One classified image, or why it could not be."""

    ticket: int
    prediction: Any = None     # engine.inference.Prediction
    error: str = ""


def classify_job(ticket: int, classifier: Any, source: Any, top_k: int) -> Classified:
    try:
        return Classified(ticket, classifier.classify(source, top_k=top_k))
    except LayerLabError as err:
        return Classified(ticket, error=str(err))


@dataclass
class Preview:
    """Augmented copies of a few training images, for the preview grid."""

    generation: int
    originals: Any          # uint8 (N, H, W, C)
    copies: Any             # uint8 (N, K, H, W, C)
    labels: list[int]


def preview_job(generation: int, images: Any, labels: list[int], augmentation: Any, copies: int, seed: int) -> Preview:
    engine_loader().wait_ready()
    from engine.training.augmentation import preview

    return Preview(generation, images, preview(images, augmentation, copies, seed), labels)


def gpu_memory_job() -> float | None:
    """MiB TensorFlow holds on the first GPU now; None on CPU."""
    engine_loader().wait_ready()
    from engine.training import gpu_memory_mb

    return gpu_memory_mb()
