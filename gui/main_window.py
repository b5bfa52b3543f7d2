"""The LayerLab window: assembles the panels, owns the config, the workers and the training runner.

Data flow: widgets write intent into `ConfigStore`; the window reacts to config changes by
(re)loading the dataset in the data worker and rebuilding the layer table in the engine worker;
Train snapshots the config into the `TrainingRunner`, whose events come back as queued signals.
Nothing here calls TensorFlow: only the worker jobs in `gui.workers` do.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.events import BatchEnd, EpochEnd, Failed, Finished, StageChanged, Started
from gui import theme
from gui.config_store import ConfigStore, touches
from gui.dropping import accepts, sources_from_mime
from gui.engine_loader import engine_loader
from gui.panels.augmentation import PREVIEW_COPIES, AugmentationPanel, pick_preview_images
from gui.panels.classify import ClassifyPanel
from gui.panels.data import DataPanel
from gui.panels.errors import ErrorsPanel
from gui.panels.model import ModelPanel
from gui.panels.plots import PlotsPanel
from gui.panels.runs import RunsPanel
from gui.panels.training import RunBar, TrainingPanel, format_memory, format_seconds
from gui.settings import Settings
from gui.widgets import MessageBar
from gui.workers import (
    Classified,
    DatasetBundle,
    Inspection,
    OpenedRun,
    Preview,
    TrainingCrash,
    TrainingRunner,
    Worker,
    classify_job,
    dataset_key,
    gpu_memory_job,
    inspect_model_job,
    load_dataset_job,
    make_classifier_job,
    open_run_job,
    preview_job,
)

SAMPLES_PER_CLASS = 8
PREVIEW_DEBOUNCE_MS = 300
GPU_POLL_MS = 2000


def _scrolling(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class MainWindow(QMainWindow):
    # Milestones, for tests and scripts that drive the window (emitted on the UI thread).
    engine_ready = Signal(str)
    dataset_loaded = Signal()
    inspection_shown = Signal()
    training_finished = Signal(object)     # TrainResult or TrainingCrash
    classifier_ready = Signal()
    classified = Signal(int)               # ticket of a classified (or refused) image
    run_opened = Signal(str)
    preview_shown = Signal()               # the augmentation preview was redrawn (or explained why not)
    gpu_memory_polled = Signal(object)     # a 1-tuple: (MiB,) or (None,) on CPU; never a bare None

    def __init__(self, settings: Settings | None = None, runs_root: Path | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.runs_root = runs_root
        self.store = ConfigStore(self.settings.load_config(), self)
        self.loader = engine_loader()
        self.data_worker = Worker("data", self)
        self.engine_worker = Worker("engine", self)
        self.gpu_worker = Worker("gpu", self)   # memory polls never wait behind a model build
        self.runner = TrainingRunner(self)
        self.dataset: Any = None
        self.dataset_key: str | None = None
        self._loading_key: str | None = None
        self._inspect_generation = 0
        self._inspected_generation = 0
        self.classifier: Any = None
        self._pending_train = False
        self._pending_classify: list[tuple[int, Any]] = []
        self._train_dataset: Any = None
        self._gallery_dataset: Any = None
        self._progress_origin: tuple[float, float] | None = None
        self._started: Started | None = None
        self._samples: dict[int, Any] = {}
        self._preview_generation = 0
        self._preview_seed = 0
        self._model_error: str | None = None
        self._stage_note = ""
        self._polling_gpu = False
        self._closing = False
        self._build_ui()
        self._connect()
        self._restore_window_state()
        QTimer.singleShot(0, self._start_background)

    # ==== layout ====================================================================================
    def _build_ui(self) -> None:
        self.setWindowTitle("LayerLab")
        if theme.ICON.is_file():
            self.setWindowIcon(QIcon(str(theme.ICON)))
        self.setAcceptDrops(True)
        self.resize(1560, 940)
        self.setMinimumSize(1100, 680)

        self.data_panel = DataPanel(self.store, self.settings.last_folder, self.settings.set_last_folder)
        self.model_panel = ModelPanel(self.store)
        self.augmentation_panel = AugmentationPanel(self.store)
        self.training_panel = TrainingPanel(self.store)
        self.controls = QTabWidget()
        self.controls.setObjectName("ControlTabs")
        self.controls.addTab(_scrolling(self.data_panel), "Data")
        self.controls.addTab(self.model_panel, "Model")
        self.controls.addTab(_scrolling(self.augmentation_panel), "Augment")
        self.controls.addTab(_scrolling(self.training_panel), "Training")
        self.controls.setTabToolTip(2, "Random changes to the training images, with a preview")
        self.controls.setMinimumWidth(360)

        centre = QWidget()
        centre.setObjectName("Centre")
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(8, 8, 8, 8)
        centre_layout.setSpacing(8)
        self.run_bar = RunBar()
        self.message_bar = MessageBar()
        self.plots = PlotsPanel()
        centre_layout.addWidget(self.run_bar)
        centre_layout.addWidget(self.message_bar)
        centre_layout.addWidget(self.plots, 1)

        self.classify_panel = ClassifyPanel(self.settings.last_folder)
        self.errors_panel = ErrorsPanel()
        self.runs_panel = RunsPanel()
        self.runs_panel.root = self.runs_root
        self.results = QTabWidget()
        self.results.setObjectName("ResultTabs")
        self.results.addTab(self.classify_panel, "Classify")
        self.results.addTab(self.errors_panel, "Errors")
        self.results.addTab(self.runs_panel, "Runs")
        self.results.setMinimumWidth(380)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        self.splitter.addWidget(self.controls)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.results)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([480, 680, 400])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.engine_label = QLabel("◌ Loading engine…")
        self.engine_label.setObjectName("EngineState")
        self.engine_label.setToolTip("TensorFlow starts in the background; everything else works meanwhile")
        self.device_label = QLabel("")
        self.device_label.setObjectName("StatusDevice")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.engine_label)
        self._build_menu()

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        actions = (
            ("Open images…", QKeySequence.StandardKey.Open, self.classify_panel._open),
            ("Paste image", QKeySequence.StandardKey.Paste, self.paste),
            ("Open run folder…", "Ctrl+Shift+O", self._choose_run_folder),
            (None, None, None),
            ("Train", None, self.start_training),
            ("Stop", None, self.stop_training),
            (None, None, None),
            ("Quit", QKeySequence.StandardKey.Quit, self.close),
        )
        for text, shortcut, slot in actions:
            if text is None:
                file_menu.addSeparator()
                continue
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("About LayerLab", self)
        about.triggered.connect(lambda: self.message_bar.show_message(
            "LayerLab — train image classifiers, freeze layers, watch the curves, drop images to classify. "
            "Every training is saved as a run.", "info"))
        help_menu.addAction(about)

    def _connect(self) -> None:
        self.store.changed.connect(self._on_config_changed)
        self.store.rejected.connect(lambda why: self.message_bar.show_message(why, "warning"))
        self.run_bar.train_clicked.connect(self.start_training)
        self.run_bar.stop_clicked.connect(self.stop_training)
        self.runner.event.connect(self._on_event)
        self.runner.result_ready.connect(self._on_training_result)
        self.classify_panel.sources_chosen.connect(self.classify_sources)
        self.classify_panel.paste_requested.connect(self.paste)
        self.runs_panel.open_requested.connect(self.open_run)
        self.runs_panel.settings_requested.connect(self.use_run_settings)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(500)
        self._save_timer.timeout.connect(lambda: self.settings.save_config(self.store.config))
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self._request_preview)
        self.augmentation_panel.reseed_requested.connect(self._reseed_preview)
        self._gpu_timer = QTimer(self)
        self._gpu_timer.setInterval(GPU_POLL_MS)
        self._gpu_timer.timeout.connect(self.poll_gpu_memory)

    def _restore_window_state(self) -> None:
        geometry = self.settings.bytes_value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.settings.bytes_value("window/splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        self.controls.setCurrentIndex(int(self.settings.store.value("window/controls_tab", 0) or 0))

    # ==== start-up ==================================================================================
    def _start_background(self) -> None:
        if self._closing:
            return
        self.loader.ready.connect(self._on_engine_ready)
        self.loader.failed.connect(self._on_engine_failed)
        self._listening = True
        self.loader.start()
        if self.loader.is_ready:
            self._on_engine_ready(self.loader.device or "CPU")
        elif self.loader.is_done:
            self._on_engine_failed(self.loader.error or "the engine failed to load")
        self._request_dataset()
        self.runs_panel.refresh()

    def _on_engine_ready(self, device: str) -> None:
        if self._closing:
            return
        took = f" in {self.loader.seconds:.1f} s" if self.loader.seconds else ""
        self.engine_label.setText("● Engine ready")
        self.engine_label.setProperty("state", "ready")
        self.engine_label.setToolTip(f"TensorFlow loaded{took}")
        self.engine_label.style().polish(self.engine_label)
        self.device_label.setText(f"Device: {device}")
        self.run_bar.set_device(device)
        self._schedule_preview()
        if self._inspected_generation < self._inspect_generation:
            self.model_panel.show_building()
        if self._pending_train:
            self._launch_training()
        self._flush_classify()
        self.engine_ready.emit(device)

    def _on_engine_failed(self, message: str) -> None:
        self.engine_label.setText("● Engine unavailable")
        self.engine_label.setProperty("state", "error")
        self.engine_label.style().polish(self.engine_label)
        self.message_bar.show_message(message, "error")
        if self._pending_train:
            self._pending_train = False
            self._set_training_ui(False)

    # ==== config → data and model ===================================================================
    def _on_config_changed(self, keys: set[str]) -> None:
        self._save_timer.start()
        if touches(keys, "data", "training.seed"):
            self._request_dataset()
        if touches(keys, "arch", "layer_trainable", "freeze_all_but"):
            self._request_inspection()
        if touches(keys, "augmentation"):
            self._schedule_preview()

    def _request_dataset(self) -> None:
        config = self.store.config
        key = dataset_key(config.data, config.training.seed)
        if key in (self.dataset_key, self._loading_key):
            return
        self._loading_key = key
        self.data_panel.show_loading(config.data.name)
        self.model_panel.show_building("Waiting for the dataset…")
        self.data_worker.submit(load_dataset_job, config.data, config.training.seed, SAMPLES_PER_CLASS,
                                on_result=self._on_dataset, on_error=lambda err, k=key: self._on_dataset_error(k, err))

    def _on_dataset(self, bundle: DatasetBundle) -> None:
        if bundle.key != self._loading_key:
            return  # a newer choice is loading
        self._loading_key = None
        self.dataset, self.dataset_key = bundle.dataset, bundle.key
        self._samples = bundle.samples
        self.data_panel.show_dataset(bundle.dataset, bundle.samples)
        self._schedule_preview()
        skipped = len(getattr(bundle.dataset, "skipped", []) or [])
        if skipped:
            self.message_bar.show_message(f"{skipped} files in the dataset could not be read and were skipped "
                                          "(see the Data tab).", "warning")
        self._request_inspection()
        self.dataset_loaded.emit()

    def _on_dataset_error(self, key: str, err: BaseException) -> None:
        if key != self._loading_key:
            return
        self._loading_key = None
        self.dataset, self.dataset_key = None, None
        self._samples = {}
        text = str(err) or type(err).__name__
        self.data_panel.show_error(text)
        self.augmentation_panel.show_error("no dataset")
        self.model_panel.show_error("No dataset: choose one that loads to see the layers.")
        self.message_bar.show_message(f"Dataset problem: {text}", "error", getattr(err, "details", ""))
        self.dataset_loaded.emit()

    def _request_inspection(self) -> None:
        if self.dataset is None:
            return
        config = self.store.config
        self._inspect_generation += 1
        generation = self._inspect_generation
        self.model_panel.show_building("Building the model…" if self.loader.is_ready else "Waiting for the engine to load…")
        args = (generation, config.arch, tuple(self.dataset.input_shape), int(self.dataset.num_classes),
                dict(config.layer_trainable), config.freeze_all_but)

        def job() -> Inspection | None:
            if generation != self._inspect_generation:
                return None  # superseded before it started: skip the work
            return inspect_model_job(*args)

        self.engine_worker.submit(job, on_result=self._on_inspection,
                                  on_error=lambda err, g=generation: self._on_inspection_error(g, err))

    def _on_inspection(self, result: Inspection | None) -> None:
        if result is None or result.generation != self._inspect_generation:
            return
        self._inspected_generation = result.generation
        if self._model_error is not None:  # the model builds again: the earlier problem is solved
            if self.message_bar.text == self._model_error:
                self.message_bar.dismiss()
            self._model_error = None
        if result.layer_trainable != self.store.config.layer_trainable:
            # Overrides naming layers this model does not have (options changed): forget them.
            self.store.update(layer_trainable=result.layer_trainable)
        self.model_panel.show_inspection(result.rows, result.trainable, result.total)
        self.inspection_shown.emit()

    def _on_inspection_error(self, generation: int, err: BaseException) -> None:
        if generation != self._inspect_generation:
            return
        self._inspected_generation = generation
        text = str(err) or type(err).__name__
        self.model_panel.show_error(text)
        # The Model tab may be hidden: say it where it is always seen too.
        self._model_error = f"Cannot build the model: {text}"
        self.message_bar.show_message(self._model_error, "error", getattr(err, "details", ""))
        self.inspection_shown.emit()

    # ==== augmentation preview ======================================================================
    def _schedule_preview(self) -> None:
        """Redraw the preview soon: settings often change in bursts (typing, spinning)."""
        self._preview_generation += 1  # a preview already computing is stale now
        self._preview_timer.start()

    def _reseed_preview(self) -> None:
        self._preview_seed += 1
        self._schedule_preview()

    def _request_preview(self) -> None:
        panel = self.augmentation_panel
        self._preview_generation += 1
        generation = self._preview_generation
        aug = self.store.config.augmentation
        picked = pick_preview_images(self._samples) if self.dataset is not None else None
        if not aug.enabled:
            panel.show_off()
        elif picked is None:
            panel.show_waiting("Waiting for the dataset…" if self.dataset is None else "No images to preview.")
        elif not self.loader.is_ready:
            panel.show_waiting("The preview appears once the engine has loaded…")
            return  # _on_engine_ready schedules it again
        else:
            images, labels = picked
            panel.show_waiting("Augmenting…")
            seed = self.store.config.training.seed + 1000 * self._preview_seed
            self.engine_worker.submit(preview_job, generation, images, labels, aug.model_copy(), PREVIEW_COPIES, seed,
                                      on_result=self._on_preview,
                                      on_error=lambda err, g=generation: self._on_preview_error(g, err))
            return
        self.preview_shown.emit()

    def _on_preview(self, result: Preview) -> None:
        if result.generation != self._preview_generation:
            return
        names = list(getattr(self.dataset, "class_names", []) or [])
        self.augmentation_panel.show_preview(result.originals, result.copies, names, result.labels)
        self.preview_shown.emit()

    def _on_preview_error(self, generation: int, err: BaseException) -> None:
        if generation != self._preview_generation:
            return
        self.augmentation_panel.show_error(str(err) or type(err).__name__)
        self.preview_shown.emit()

    # ==== GPU memory ================================================================================
    def poll_gpu_memory(self) -> None:
        """Ask (in its own worker) how much GPU memory TensorFlow holds; one poll at a time."""
        if self._polling_gpu or not self.loader.is_ready or self._closing:
            return
        self._polling_gpu = True
        self.gpu_worker.submit(gpu_memory_job, on_result=self._on_gpu_memory,
                               on_error=lambda err: self._on_gpu_memory(None))

    def _on_gpu_memory(self, megabytes: float | None) -> None:
        self._polling_gpu = False
        device = self.run_bar.device_name or (self.loader.device or "")
        if megabytes is None:
            self._gpu_timer.stop()  # CPU (or no figure to be had): show nothing, ask no more
            self.run_bar.set_memory(None)
            self.device_label.setText(f"Device: {device}")
        else:
            self.run_bar.set_memory(megabytes)
            self.device_label.setText(f"Device: {device} · GPU memory {format_memory(megabytes)}")
        # A tuple, never a bare None: PySide mishandles None's reference count in Signal(object).
        self.gpu_memory_polled.emit((megabytes,))

    # ==== training ==================================================================================
    @property
    def training(self) -> bool:
        return self._pending_train or self.runner.isRunning()

    def start_training(self) -> None:
        if self.training:
            return
        self.message_bar.dismiss()
        self._pending_train = True
        self._set_training_ui(True)
        self.plots.reset("Preparing…")
        self.errors_panel.clear("Training…")
        if not self.loader.is_ready:
            if self.loader.is_done:
                self._on_engine_failed(self.loader.error or "the engine failed to load")
                return
            self.run_bar.set_waiting("Waiting for the engine to load…")
            return
        self._launch_training()

    def _launch_training(self) -> None:
        self._pending_train = False
        config = self.store.snapshot()
        dataset = self.dataset if self.dataset_key == dataset_key(config.data, config.training.seed) else None
        self._train_dataset = dataset
        self._progress_origin = None
        self._started = None
        self._stage_note = ""
        self.run_bar.set_cache(None)
        self.run_bar.set_waiting("Preparing data and model…")
        self.runner.start_training(config, dataset, self.runs_root)

    def stop_training(self) -> None:
        if self._pending_train:
            self._pending_train = False
            self._set_training_ui(False)
            self.run_bar.set_progress(0, "Cancelled before it started")
            return
        if self.runner.isRunning():
            self.runner.cancel()
            self.run_bar.set_waiting("Stopping after this batch…")
            self.run_bar.stop.setEnabled(False)

    def _set_training_ui(self, running: bool) -> None:
        self.run_bar.set_running(running)
        for panel in (self.data_panel, self.model_panel, self.augmentation_panel, self.training_panel):
            panel.set_locked(running)
        self.runs_panel.open_button.setEnabled(not running)
        self.runs_panel.settings_button.setEnabled(not running)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, BatchEnd):
            # The batches since the last event, not Keras's running epoch mean (which lags, then
            # drops at every new epoch and draws a saw-tooth).
            loss = event.recent_loss if math.isfinite(event.recent_loss) else event.loss
            accuracy = event.recent_accuracy if math.isfinite(event.recent_accuracy) else event.accuracy
            self.plots.add_batch(event.epoch, event.step, event.steps, loss, accuracy)
            self._show_progress(event.epoch, (event.step + 1) / max(1, event.steps), event.seconds,
                                f"{self._stage_note}batch {event.step + 1}/{event.steps}")
        elif isinstance(event, EpochEnd):
            self.plots.add_epoch(event.epoch, event.loss, event.accuracy, event.val_loss, event.val_accuracy)
            self.plots.summary.setText(self._epoch_summary(event))
        elif isinstance(event, Started):
            self._on_started(event)
        elif isinstance(event, StageChanged):
            self.plots.add_stage(event.epoch, event.description)
            self._stage_note = f"stage {event.stage}, lr {event.learning_rate:g} · "
            self.message_bar.show_message(f"Stage {event.stage}: {event.description} "
                                          f"({event.trainable_params:,} trainable parameters)", "info")
            self.statusBar().showMessage(f"Stage {event.stage} from epoch {event.epoch + 1}: learning rate "
                                         f"{event.learning_rate:g}, {event.trainable_params:,} trainable parameters")
        elif isinstance(event, Finished):
            self._on_finished_event(event)
        elif isinstance(event, Failed):
            self._on_failed_event(event)

    def _on_started(self, event: Started) -> None:
        self._started = event
        self.run_bar.set_device(event.device)
        self.device_label.setText(f"Device: {event.device}")
        config = self.store.config
        self.plots.summary.setText(
            f"Training <b>{config.arch.name}</b> on <b>{_short(config.data.name)}</b> · {event.samples_train:,} training / "
            f"{event.samples_val:,} validation images · {event.trainable_params:,} of {event.total_params:,} parameters trainable")
        self.plots.summary.setToolTip(event.note)
        self.plots.set_planned_epochs(event.epochs)
        self.run_bar.set_cache(event.feature_cache, event.note)
        if event.note:  # why (not) cached features: stays in the status bar while it trains
            self.statusBar().showMessage(event.note[0].upper() + event.note[1:])
        if event.device != "CPU":
            self.poll_gpu_memory()
            self._gpu_timer.start()
        if event.feature_cache:  # the frozen prefix runs once over all images before the first batch
            self.run_bar.set_waiting("Computing the frozen layers' features once…")
        else:
            self.run_bar.set_progress(0, f"Epoch 1/{event.epochs}")

    def _show_progress(self, epoch: int, within: float, seconds: float, detail: str) -> None:
        epochs = self._started.epochs if self._started else max(1, self.store.config.training.epochs)
        fraction = (epoch + within) / max(1, epochs)
        eta = ""
        if self._progress_origin is None:
            self._progress_origin = (seconds, fraction)
        else:
            t0, f0 = self._progress_origin
            if fraction > f0 and seconds > t0:
                eta = f"{format_seconds((1 - fraction) * (seconds - t0) / (fraction - f0))} left"
        self.run_bar.set_progress(fraction, f"Epoch {epoch + 1}/{epochs} · {detail}", eta)

    def _epoch_summary(self, event: EpochEnd) -> str:
        parts = [f"Epoch {event.epoch + 1}/{event.epochs}", f"loss {event.loss:.4f}", f"accuracy {event.accuracy:.1%}"]
        if math.isfinite(event.val_loss):
            parts += [f"val loss {event.val_loss:.4f}", f"<b>val accuracy {event.val_accuracy:.1%}</b>"]
        parts.append(f"{event.seconds:.1f} s")
        return " · ".join(parts)

    def _on_finished_event(self, event: Finished) -> None:
        acc = event.metrics.val_accuracy
        acc_text = f"val accuracy {acc:.1%}" if isinstance(acc, (int, float)) else "no validation accuracy"
        short_acc = f"val acc {acc:.1%}" if isinstance(acc, (int, float)) else "no val acc"
        count, total = event.metrics.misclassified_count, event.metrics.val_count
        errors = f" · {count} errors / {total}" if isinstance(count, int) and isinstance(total, int) else ""
        what = "Stopped" if event.cancelled else ("Stopped early (no more improvement)" if event.stopped_early else "Finished")
        short = "Stopped" if event.cancelled else ("Stopped early" if event.stopped_early else "Finished")
        self.run_bar.set_progress(1.0 if not event.cancelled else self.run_bar.progress.value() / 1000,
                                  f"{short} · {short_acc}")
        self.run_bar.progress.setToolTip(f"{what} after {event.epochs_run} epoch{'s' if event.epochs_run != 1 else ''} · {acc_text}")
        self.message_bar.show_message(f"{what}: {acc_text}{errors}. Saved as run {Path(event.run_dir).name}.",
                                      "success", event.run_dir)

    def _on_failed_event(self, event: Failed) -> None:
        title = {"nan": "Training diverged", "oom": "Out of memory", "data": "Dataset problem",
                 "config": "Configuration problem"}.get(event.kind, "Training failed")
        self.run_bar.set_progress(0, title)
        self.message_bar.show_message(f"{title}: {event.reason}", "error", event.run_dir)

    def _on_training_result(self, result: Any) -> None:
        self._set_training_ui(False)
        if self._gpu_timer.isActive():
            self._gpu_timer.stop()
            self.poll_gpu_memory()  # what is still held once it is done
        if isinstance(result, TrainingCrash):
            self.run_bar.set_progress(0, "Training failed")
            self.message_bar.show_message(f"Training failed: {type(result.error).__name__}: {result.error}", "error",
                                          result.details)
        else:
            self._after_training(result)
        self.runs_panel.refresh()
        self.training_finished.emit(result)

    def _after_training(self, result: Any) -> None:
        dataset = result.dataset if result.dataset is not None else self._train_dataset
        self._train_dataset = None
        if result.failed:
            self.errors_panel.clear(f"No results: {result.failed}")
            return
        self._gallery_dataset = dataset
        class_names = list(getattr(dataset, "class_names", []) or
                           (result.spec.class_names if result.spec is not None else []))
        self.errors_panel.show_metrics(result.metrics, self._gallery_image, "Stopped before the planned epochs."
                                       if result.cancelled else "", class_names)
        count = result.metrics.misclassified_count
        self.results.setTabText(1, f"Errors ({count})" if isinstance(count, int) else "Errors")
        if result.model is not None and result.spec is not None:
            names = list(getattr(dataset, "class_names", []) or result.spec.class_names)
            label = f"Model: just trained — {self.store.config.arch.name} on {_short(self.store.config.data.name)}"
            self.engine_worker.submit(make_classifier_job, result.model, result.spec, names,
                                      on_result=lambda c, text=label: self._set_classifier(c, text),
                                      on_error=lambda err: self.message_bar.show_message(f"Cannot classify with this model: {err}", "error"))

    def _gallery_image(self, entry: dict[str, Any]) -> np.ndarray | None:
        source = entry.get("source")
        if source:
            try:
                from PIL import Image

                with Image.open(source) as image:
                    image.thumbnail((128, 128))
                    return np.asarray(image.convert("RGB"))
            except Exception:
                return None
        dataset = self._gallery_dataset
        index = entry.get("index")
        if dataset is not None and isinstance(index, int) and 0 <= index < len(dataset.x_val):
            return dataset.x_val[index]
        return None

    # ==== classification ============================================================================
    def _set_classifier(self, classifier: Any, description: str) -> None:
        self.classifier = classifier
        self.classify_panel.set_model_description(description)
        self.classifier_ready.emit()
        self._flush_classify()

    def classify_sources(self, sources: list[Any]) -> None:
        if not sources:
            self.message_bar.show_message("Nothing to classify: drop image files, a folder, or paste an image.", "warning")
            return
        self.results.setCurrentWidget(self.classify_panel)
        for source in sources:
            if isinstance(source, str):
                self.settings.set_last_folder(source)
            ticket = self.classify_panel.add_pending(source)
            self._pending_classify.append((ticket, source))
        self._flush_classify()

    def _waiting_reason(self) -> str:
        if not self.loader.is_ready:
            return "waiting for engine…"
        if self.training:
            return "waiting for the training to finish…"
        return "train or open a run first"

    def _flush_classify(self) -> None:
        if not self._pending_classify:
            return
        if self.classifier is None:
            reason = self._waiting_reason()
            for ticket, _ in self._pending_classify:
                self.classify_panel.set_status(ticket, reason)
            return
        top_k = self.classify_panel.top_k.value()
        for ticket, source in self._pending_classify:
            self.classify_panel.set_status(ticket, "classifying…")
            self.engine_worker.submit(classify_job, ticket, self.classifier, source, top_k, on_result=self._on_classified,
                                      on_error=lambda err, t=ticket: self._on_classified(Classified(t, error=f"{type(err).__name__}: {err}")))
        self._pending_classify.clear()

    def _on_classified(self, result: Classified) -> None:
        if result.prediction is not None:
            self.classify_panel.show_prediction(result.ticket, result.prediction)
        else:
            self.classify_panel.show_error(result.ticket, result.error)
            self.statusBar().showMessage(f"Could not classify an image: {result.error}", 8000)
        self.classified.emit(result.ticket)

    def paste(self) -> None:
        sources = sources_from_mime(QApplication.clipboard().mimeData())
        if not sources:
            self.message_bar.show_message("The clipboard holds no image or image files.", "warning")
            return
        self.classify_sources(sources)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt name)
        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802
        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.handle_drop(event.mimeData())
        event.acceptProposedAction()

    def handle_drop(self, mime: Any) -> None:
        """What a drop does (also called by tests with a QMimeData)."""
        self.classify_sources(sources_from_mime(mime))

    # ==== runs ======================================================================================
    def _choose_run_folder(self) -> None:
        from engine.runs import default_runs_root

        start = str(self.runs_root or default_runs_root())
        path = QFileDialog.getExistingDirectory(self, "Open a run folder", start)
        if path:
            self.open_run(path)

    def open_run(self, path: str) -> None:
        if self.training:
            self.message_bar.show_message("Stop the training before opening another run.", "warning")
            return
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        self.classify_panel.set_model_description(f"Loading the model of run {Path(path).name}…")
        self.engine_worker.submit(open_run_job, path, on_result=self._on_run_opened,
                                  on_error=lambda err: self._on_run_error(path, err))

    def _on_run_opened(self, opened: OpenedRun) -> None:
        run = opened.run
        config = run.config
        acc = run.metrics.val_accuracy if run.metrics is not None else None
        title = (f"Run <b>{run.path.name}</b> · {config.arch.name} on {_short(config.data.name)}"
                 + (f" · val accuracy {acc:.1%}" if isinstance(acc, (int, float)) else ""))
        self.plots.load_history(run.history, title)
        same_data = self.dataset_key == dataset_key(config.data, config.training.seed)
        self._gallery_dataset = self.dataset if same_data else None
        if run.metrics is not None and run.metrics.failed:
            self.errors_panel.clear(f"This run failed: {run.metrics.failed}")
        elif run.metrics:
            note = "" if same_data else "Load this run's dataset (same settings) to see the images."
            self.errors_panel.show_metrics(run.metrics, self._gallery_image, note, run.class_names)
        else:
            self.errors_panel.clear("This run has no metrics (it did not finish).")
        self.statusBar().showMessage(f"Opened run {run.path.name}", 5000)
        if opened.classifier is not None:
            self._set_classifier(opened.classifier, f"Model: run {run.path.name} — {config.arch.name} on {_short(config.data.name)}")
        else:
            self.classify_panel.set_model_description(f"Run {run.path.name} cannot classify: {opened.problem}")
            self.message_bar.show_message(f"Run opened without a model: {opened.problem}", "warning")
        self.run_opened.emit(str(run.path))

    def use_run_settings(self, path: str) -> None:
        """Make a past run's config the current one (to repeat or vary an experiment)."""
        if self.training:
            self.message_bar.show_message("Stop the training before loading other settings.", "warning")
            return
        from engine.runs import load_run

        def loaded(run: Any) -> None:
            if self.training:
                return
            self.store.replace(run.config)
            self.message_bar.show_message(f"Settings of run {run.path.name} loaded: Train repeats it.", "info")

        self.data_worker.submit(load_run, path, on_result=loaded, on_error=lambda err: self._on_run_error(path, err))

    def _on_run_error(self, path: str, err: BaseException) -> None:
        self.statusBar().clearMessage()
        self.classify_panel.set_model_description("No model: the run could not be opened.")
        self.message_bar.show_message(f"Cannot open run {Path(path).name}: {err}", "error", getattr(err, "details", ""))

    # ==== closing ===================================================================================
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop a training cleanly (the engine saves the run so far), then let the workers finish."""
        self._closing = True
        self._pending_train = False
        if self.runner.isRunning():
            self.statusBar().showMessage("Stopping the training and saving the run…")
            self.runner.cancel()
            self.runner.wait()
        self.plots.timer.stop()
        self._preview_timer.stop()
        self._gpu_timer.stop()
        self.data_worker.shutdown()
        self.engine_worker.shutdown()
        self.gpu_worker.shutdown()
        self._save_timer.stop()
        self.settings.save_config(self.store.config)
        self.settings.set_value("window/geometry", self.saveGeometry())
        self.settings.set_value("window/splitter", self.splitter.saveState())
        self.settings.set_value("window/controls_tab", self.controls.currentIndex())
        self.settings.sync()
        if getattr(self, "_listening", False):  # the loader outlives this window
            self._listening = False
            self.loader.ready.disconnect(self._on_engine_ready)
            self.loader.failed.disconnect(self._on_engine_failed)
        super().closeEvent(event)


def _short(name: str) -> str:
    if ":" in name:
        kind, path = name.split(":", 1)
        return f"{kind}: {Path(path).name}"
    return name
