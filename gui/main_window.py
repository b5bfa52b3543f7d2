"""The LayerLab window: lays out the panels and connects them to the controllers. Nothing else.

State lives in the Qt-free `Session` (gui/session.py); each workflow's controller
(gui/controllers) changes it from background tasks (gui/tasks.py) and renders it into its
panel; panels send intent through signals connected here. See docs/architecture.md.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QSplitter, QVBoxLayout, QWidget

from engine import __version__
from gui import theme
from gui.controllers.caches import CachesController
from gui.controllers.classify import ClassifyController
from gui.controllers.data import DataController
from gui.controllers.engine import EngineController
from gui.controllers.grid import GridController
from gui.controllers.insight_map import MapController
from gui.controllers.inspect import InspectController
from gui.controllers.labels import LabelsController
from gui.controllers.persistence import PersistenceController, startup_config
from gui.controllers.preview import PreviewController
from gui.controllers.results import ResultsController
from gui.controllers.runs import RunsController
from gui.controllers.training import TrainingController
from gui.dropping import accepts, sources_from_mime
from gui.logs import setup_logging
from gui.panels.augmentation import AugmentationPanel
from gui.panels.classify import ClassifyPanel
from gui.panels.compare import ComparisonPanel
from gui.panels.data import DataPanel
from gui.panels.errors import ErrorsPanel
from gui.panels.grid import GridPlanPanel, GridResultsPanel
from gui.panels.insight_map import MapPanel
from gui.panels.labels import LabelsPanel
from gui.panels.model import ModelPanel
from gui.panels.plots import PlotsPanel
from gui.panels.runs import RunsPanel
from gui.panels.training import RunBar, TrainingPanel
from gui.session import Session
from gui.settings import Settings
from gui.tasks import TaskRunner
from gui.widgets import EngineStatus, MessageBar, add_actions, scrolling, tab_widget

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    # Milestones for tests and scripts that drive the window (emitted on the UI thread).
    engine_ready = Signal(str)
    dataset_loaded = Signal()
    inspection_shown = Signal()
    training_finished = Signal(object)     # TrainResult or TrainingCrash
    classifier_ready = Signal()
    classified = Signal(int)               # ticket of a classified (or refused) image
    run_opened = Signal(str)
    preview_shown = Signal()
    gpu_memory_polled = Signal(object)     # (MiB,) or (None,) on the CPU

    def __init__(self, settings: Settings | None = None, runs_root: Path | None = None) -> None:
        super().__init__()
        self.log_path = setup_logging()
        log.info("window opened (LayerLab %s)", __version__)
        self.settings = settings or Settings()
        config, warning = startup_config(self.settings)
        self.session = Session(config, self.settings.load_preferences())
        self.tasks = TaskRunner(self)
        self._build_panels(runs_root)
        self._build_controllers(runs_root)
        self._connect_intents()
        self._connect_milestones()
        self._build_menu()
        self._restore_window_state()
        if warning:
            self.session.say(warning, "warning", topic="data")
        self.engine.start()
        self.data.start()
        self.runs.refresh()

    # ==== layout =====================================================================================
    def _build_panels(self, runs_root: Path | None) -> None:
        self.setWindowTitle("LayerLab")
        if theme.ICON.is_file():
            self.setWindowIcon(QIcon(str(theme.ICON)))
        self.setAcceptDrops(True)
        self.resize(1560, 940)
        self.setMinimumSize(1100, 680)
        config, start_folder = self.session.config, self.settings.last_folder
        self.data_panel = DataPanel(config, start_folder)
        self.model_panel = ModelPanel(config)
        self.augmentation_panel = AugmentationPanel(config)
        self.training_panel = TrainingPanel(config)
        self.grid_panel = GridPlanPanel(self.session.grid_plan)
        self.controls = tab_widget("ControlTabs", 360, (scrolling(self.data_panel), "Data"), (self.model_panel, "Model"),
                                   (scrolling(self.augmentation_panel), "Augment"), (scrolling(self.training_panel), "Training"),
                                   (scrolling(self.grid_panel), "Grid"))
        self.controls.setTabToolTip(2, "Random changes to the training images, with a preview")
        centre = QWidget()
        centre.setObjectName("Centre")
        column = QVBoxLayout(centre)
        column.setContentsMargins(8, 8, 8, 8)
        column.setSpacing(8)
        self.run_bar, self.message_bar, self.plots = RunBar(), MessageBar(), PlotsPanel()
        self.comparison_panel, self.grid_results = ComparisonPanel(), GridResultsPanel()
        self.centre_split = QSplitter(Qt.Orientation.Vertical)   # curves above, comparison or grid below
        for widget in (self.plots, self.comparison_panel, self.grid_results):
            self.centre_split.addWidget(widget)
        self.centre_split.setStretchFactor(0, 3)
        self.centre_split.setStretchFactor(1, 1)
        for widget, stretch in ((self.run_bar, 0), (self.message_bar, 0), (self.centre_split, 1)):
            column.addWidget(widget, stretch)
        self.classify_panel = ClassifyPanel(self.session.preferences, start_folder)
        self.errors_panel = ErrorsPanel(self.session.preferences)
        self.runs_panel, self.map_panel, self.labels_panel = RunsPanel(runs_root), MapPanel(), LabelsPanel()
        self.results = tab_widget("ResultTabs", 380, (self.classify_panel, "Classify"), (self.errors_panel, "Errors"),
                                  (self.map_panel, "Map"), (self.labels_panel, "Labels"), (self.runs_panel, "Runs"))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("MainSplitter")
        for i, (widget, stretch) in enumerate(((self.controls, 0), (centre, 1), (self.results, 0))):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(i, stretch)
        self.splitter.setSizes([480, 680, 400])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        self.engine_status = EngineStatus()
        self.statusBar().addPermanentWidget(self.engine_status)

    def _build_controllers(self, runs_root: Path | None) -> None:
        s, t = self.session, self.tasks
        self.engine = EngineController(s, t, self.engine_status)
        self.data = DataController(s, t, self.data_panel)
        self.inspect = InspectController(s, t, self.model_panel)
        self.preview = PreviewController(s, t, self.augmentation_panel)
        self.training = TrainingController(s, t, self.run_bar, self.plots, runs_root)
        self.results_view = ResultsController(s, t, self.errors_panel)
        self.classify = ClassifyController(s, t, self.classify_panel, self.settings.set_last_folder)
        self.runs = RunsController(s, t, self.runs_panel, self.plots, self.comparison_panel, runs_root)
        self.persistence = PersistenceController(s, t, self.settings)
        self.grid = GridController(s, self.training, self.grid_results, self.grid_panel)
        self.map = MapController(s, t, self.map_panel)
        self.labels = LabelsController(s, t, self.training, self.labels_panel)
        self.caches = CachesController(s, t)

    def _connect_intents(self) -> None:
        s = self.session
        self.run_bar.train_clicked.connect(self.training.start)
        self.run_bar.stop_clicked.connect(self.training.stop)
        self.augmentation_panel.reseed_requested.connect(self.preview.reseed)
        self.errors_panel.thumbnails_wanted.connect(self.results_view.thumbnails_wanted)
        self.errors_panel.title_changed.connect(lambda title: self.results.setTabText(1, title))
        self.classify_panel.sources_chosen.connect(self.classify.classify_sources)
        self.classify_panel.paste_requested.connect(self.paste)
        self.classify_panel.reveal_requested.connect(lambda: self.results.setCurrentWidget(self.classify_panel))
        self.classify_panel.layers_requested.connect(self.classify.show_layers)
        self.runs_panel.open_requested.connect(self.runs.open_run)
        self.runs_panel.settings_requested.connect(self.runs.use_settings)
        self.runs_panel.refresh_requested.connect(self.runs.refresh)
        self.runs_panel.compare_requested.connect(self.runs.compare)
        self.comparison_panel.close_requested.connect(self.runs.close_comparison)
        self.grid_panel.run_requested.connect(self.grid.run)
        self.grid_panel.resume_requested.connect(self.grid.resume)
        self.grid_results.close_requested.connect(self.grid.close)
        self.map_panel.draw_requested.connect(self.map.draw)
        self.map_panel.point_hovered.connect(self.map.hovered)
        self.map_panel.point_clicked.connect(self.map.clicked)
        self.classify.answered.connect(self.map.place)
        self.labels_panel.find_requested.connect(self.labels.find)
        self.labels_panel.decision_requested.connect(self.labels.decide)
        self.labels_panel.thumbnails_wanted.connect(self.labels.thumbnails_wanted)
        self.data_panel.folder_chosen.connect(self.settings.set_last_folder)
        self.training.finished.connect(lambda result: self.runs.refresh())
        s.events.training.connect(self._lock_controls)
        s.events.message.connect(self.message_bar.render)
        self.message_bar.dismissed.connect(s.clear_message)
        s.events.status.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        s.config.rejected.connect(lambda why: s.say(why, "warning", topic="config"))

    def _connect_milestones(self) -> None:
        s = self.session
        s.events.engine.connect(lambda e: e.ready and self.engine_ready.emit(e.device))
        s.events.data.connect(lambda d: d.status in ("ready", "failed") and self.dataset_loaded.emit())
        s.events.model.connect(lambda m: m.status in ("ready", "failed") and self.inspection_shown.emit())
        s.events.classifier.connect(lambda c: c.classifier is not None and self.classifier_ready.emit())
        self.training.finished.connect(self.training_finished.emit)
        self.training.gpu_polled.connect(self.gpu_memory_polled.emit)
        self.classify.classified.connect(self.classified.emit)
        self.runs.opened.connect(self.run_opened.emit)
        self.preview.shown.connect(self.preview_shown.emit)

    def _lock_controls(self, training: Any) -> None:
        for panel in (self.data_panel, self.model_panel, self.augmentation_panel, self.training_panel, self.runs_panel,
                      self.grid_panel, self.labels_panel):
            panel.set_locked(training.running)

    def _build_menu(self) -> None:
        add_actions(self.menuBar().addMenu("&File"), self, (
            ("Open images…", QKeySequence.StandardKey.Open, self.classify_panel.choose_files),
            ("Paste image", QKeySequence.StandardKey.Paste, self.paste),
            ("Open run folder…", "Ctrl+Shift+O", self._choose_run_folder), None,
            ("Caches and memory…", None, self.show_caches), None,
            ("Train", None, self.training.start), ("Stop", None, self.training.stop), None,
            ("Quit", QKeySequence.StandardKey.Quit, self.close)))
        add_actions(self.menuBar().addMenu("&Help"), self, (
            ("Show log", None, self.show_log),
            ("About LayerLab", None, lambda: self.session.say(
                "LayerLab — train image classifiers, freeze layers, watch the curves, drop images to classify. "
                "Every training is saved as a run.", "info"))))

    def show_caches(self) -> None:
        from gui.caches_dialog import CachesDialog

        self._caches_dialog = CachesDialog(self.session.preferences, self)
        self._caches_dialog.clear_requested.connect(self.caches.clear)
        self.caches.attach(self._caches_dialog)
        self._caches_dialog.show()

    def show_log(self) -> None:
        from gui.log_view import LogDialog

        self._log_dialog = LogDialog(self.log_path, self)
        self._log_dialog.show()

    # ==== intent that needs the window ===================================================================
    def paste(self) -> None:
        sources = sources_from_mime(QApplication.clipboard().mimeData())
        if not sources:
            self.session.say("The clipboard holds no image, image file or folder.", "warning", topic="classify")
            return
        self.classify.classify_sources(sources)

    def classify_sources(self, sources: list[Any]) -> None:
        self.classify.classify_sources(sources)

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
        self.classify.classify_sources(sources_from_mime(mime))

    def _choose_run_folder(self) -> None:
        from engine.runs import default_runs_root

        path = QFileDialog.getExistingDirectory(self, "Open a run folder", str(self.runs.root or default_runs_root()))
        if path:
            self.runs.open_run(path)

    # ==== settings and closing =========================================================================
    def _restore_window_state(self) -> None:
        for key, restore in (("window/geometry", self.restoreGeometry), ("window/splitter", self.splitter.restoreState)):
            value = self.settings.bytes_value(key)
            if value is not None:
                restore(value)
        self.controls.setCurrentIndex(int(self.settings.store.value("window/controls_tab", 0) or 0))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Stop a training cleanly (the engine saves the run so far), then let the workers go."""
        if self.session.training.running:
            self.statusBar().showMessage("Stopping the training and saving the run…")
        self.plots.timer.stop()
        self.tasks.shutdown(wait_lanes=("training", "engine"))
        self.persistence.save()
        for key, value in (("window/geometry", self.saveGeometry()), ("window/splitter", self.splitter.saveState()),
                           ("window/controls_tab", self.controls.currentIndex())):
            self.settings.set_value(key, value)
        self.settings.sync()
        self.session.close()
        super().closeEvent(event)
