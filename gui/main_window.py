"""The LayerLab window: lays out the panels and connects them to the controllers. Nothing else.

State lives in the Qt-free `Session` (gui/session.py); each workflow's controller
(gui/controllers) changes it from background tasks (gui/tasks.py) and renders it into its
panel; panels send intent through signals connected here. See docs/architecture.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow

from engine import __version__
from gui.controllers.autoencoder import AutoencoderController
from gui.controllers.caches import CachesController
from gui.controllers.centre import CentreController
from gui.controllers.classify import ClassifyController
from gui.controllers.current import CurrentModelController
from gui.controllers.curves import CurvesController
from gui.controllers.data import DataController
from gui.controllers.engine import EngineController
from gui.controllers.export import ExportController
from gui.controllers.grid import GridController
from gui.controllers.insight_map import MapController
from gui.controllers.inspect import InspectController
from gui.controllers.keep import KeepController
from gui.controllers.labels import LabelsController
from gui.controllers.lessons import LessonsController
from gui.controllers.lr_finder import LrFinderController
from gui.controllers.persistence import PersistenceController, startup_config
from gui.controllers.preview import PreviewController
from gui.controllers.results import ResultsController
from gui.controllers.runs import RunsController
from gui.controllers.training import TrainingController
from gui.dropping import accepts, sources_from_mime
from gui.layout import build_panels, fit_columns
from gui.logs import setup_logging
from gui.menus import build_menus
from gui.session import Session
from gui.settings import Settings
from gui.tasks import TaskRunner

log = logging.getLogger(__name__)


#: The longest the window waits for a worker at close once no training runs (a model load, a thumbnail).
CLOSE_WAIT_S = 5.0


class MainWindow(QMainWindow):
    # Milestones for tests and scripts that drive the window (emitted on the UI thread).
    engine_ready = Signal(str)
    dataset_loaded = Signal()
    inspection_shown = Signal()
    training_finished = Signal(object)  # TrainResult or TrainingCrash
    classifier_ready = Signal()
    classified = Signal(int)  # ticket of a classified (or refused) image
    run_opened = Signal(str)
    preview_shown = Signal()
    gpu_memory_polled = Signal(object)  # (MiB,) or (None,) on the CPU

    def __init__(self, settings: Settings | None = None, runs_root: Path | None = None) -> None:
        super().__init__()
        self.log_path = setup_logging()
        log.info("window opened (LayerLab %s)", __version__)
        self.settings = settings or Settings()
        self._closing = False
        config, warning = startup_config(self.settings)
        self.session = Session(config, self.settings.load_preferences())
        self.tasks = TaskRunner(self)
        build_panels(self, runs_root)
        self._build_controllers(runs_root)
        self._connect_intents()
        self._connect_milestones()
        build_menus(self)
        self._restore_window_state()
        if warning:
            self.session.say(warning, "warning", topic="startup")  # stays until dismissed: data loading clears "data"
        self.engine.start()
        self.data.start()
        self.runs.refresh()

    def _build_controllers(self, runs_root: Path | None) -> None:
        s, t = self.session, self.tasks
        self.engine = EngineController(s, t, self.engine_status)
        self.data = DataController(s, t, self.data_panel)
        self.inspect = InspectController(s, t, self.model_panel)
        self.preview = PreviewController(s, t, self.augmentation_panel)
        self.curves = CurvesController(s, self.plots)
        self.current = CurrentModelController(s, t)
        self.training = TrainingController(s, t, self.run_bar, self.curves, runs_root, self.current)
        self.results_view = ResultsController(s, t, self.errors_panel)
        self.classify = ClassifyController(s, t, self.classify_panel, self.settings.set_last_folder)
        self.runs = RunsController(s, t, self.runs_panel, self.curves, self.comparison_panel, runs_root, self.current)
        self.persistence = PersistenceController(s, t, self.settings)
        self.grid = GridController(s, self.training, self.grid_results, self.grid_panel)
        self.map = MapController(s, t, self.map_panel)
        self.labels = LabelsController(s, t, self.training, self.labels_panel)
        self.caches = CachesController(s, t)
        self.lessons = LessonsController(s, t, self.training, self.grid, self.lesson_card, self.current)
        self.autoencoder = AutoencoderController(s, t, self.training, self.reconstructions, self.plots)
        self.keep = KeepController(s, t, self.training, self.runs_panel)
        self.lr_finder = LrFinderController(s, self.training, self.lr_panel)
        self.export = ExportController(s, t)
        self.centre_views = CentreController(s, self.centre)

    def _connect_intents(self) -> None:
        s = self.session
        self.run_bar.train_clicked.connect(self.training.start)
        self.run_bar.stop_clicked.connect(self.training.stop)
        self.run_bar.pause_clicked.connect(self.training.toggle_pause)
        self.lr_panel.find_requested.connect(self.lr_finder.find)
        self.lr_panel.use_requested.connect(self.lr_finder.use)
        self.augmentation_panel.reseed_requested.connect(self.preview.reseed)
        self.errors_panel.thumbnails_wanted.connect(self.results_view.thumbnails_wanted)
        self.errors_panel.title_changed.connect(lambda title: self.results.setTabText(1, title))
        self.classify_panel.sources_chosen.connect(self.classify_sources)
        self.classify_panel.paste_requested.connect(self.paste)
        self.classify_panel.clear_requested.connect(self.classify.clear)
        self.classify_panel.reveal_requested.connect(lambda: self.results.setCurrentWidget(self.classify_panel))
        self.classify_panel.layers_requested.connect(self.classify.show_layers)
        self.runs_panel.open_requested.connect(self.runs.open_run)
        self.runs_panel.settings_requested.connect(self.runs.use_settings)
        self.runs_panel.refresh_requested.connect(self.runs.refresh)
        self.runs_panel.compare_requested.connect(self.runs.compare)
        self.runs_panel.selection_changed.connect(self.runs.select)
        self.runs_panel.resume_requested.connect(self.keep.resume)
        self.runs_panel.keep_wanted.connect(self.keep.keep_wanted)
        self.runs_panel.keep_requested.connect(self.keep.keep)
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
        self.data_panel.class_names_chosen.connect(self.data.name_classes)
        self.training.finished.connect(lambda result: self.runs.refresh())
        self.training.finished.connect(self.data.after_training)
        self.lesson_card.run_requested.connect(self.lessons.run)
        self.lesson_card.fallback_requested.connect(self.lessons.run_fallback)
        self.lesson_card.network_chosen.connect(self.lessons.choose_network)
        self.lesson_card.close_requested.connect(self.lessons.close)
        self.reconstructions.close_requested.connect(self.centre_views.show_curves)
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
        self.engine.gpu_polled.connect(self.gpu_memory_polled.emit)
        self.classify.classified.connect(self.classified.emit)
        self.runs.opened.connect(self.run_opened.emit)
        self.preview.shown.connect(self.preview_shown.emit)

    def _lock_controls(self, training: Any) -> None:
        for panel in (
            self.data_panel,
            self.model_panel,
            self.augmentation_panel,
            self.training_panel,
            self.runs_panel,
            self.grid_panel,
            self.labels_panel,
            self.lesson_card,
            self.lr_panel,
        ):
            panel.set_locked(training.running)

    def show_caches(self) -> None:
        from gui.caches_dialog import CachesDialog

        self._caches_dialog = CachesDialog(self.session.preferences, self)
        self._caches_dialog.clear_requested.connect(self.caches.clear)
        self.caches.attach(self._caches_dialog)
        self._caches_dialog.show()

    def show_export(self) -> None:
        from gui.export_dialog import ExportDialog

        self.export_dialog = ExportDialog(self)
        self.export_dialog.export_requested.connect(self.export.export)
        self.export.attach(self.export_dialog)
        self.export_dialog.show()

    def show_tour(self) -> None:
        """Help → Getting started: the tour, each step showing the place it talks about."""
        from gui.help_dialogs import TourDialog

        self.tour = TourDialog(self)
        self.tour.step_shown.connect(self._show_place)
        self.tour.show()
        self.tour.show_step(0)

    def _show_place(self, place: str) -> None:
        if place in ("data", "model"):
            self.controls.setCurrentIndex(0 if place == "data" else 1)
        elif place == "train":
            self.centre_views.show_curves()
            self.run_bar.train.setFocus()
        elif place == "classify":
            self.results.setCurrentWidget(self.classify_panel)

    def show_shortcuts(self) -> None:
        from gui.help_dialogs import ShortcutsDialog
        from gui.menus import shortcuts

        self.shortcuts_dialog = ShortcutsDialog(shortcuts(self), self)
        self.shortcuts_dialog.show()

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
        self.classify_sources(sources)

    def classify_sources(self, sources: list[Any]) -> None:
        """Dropped, pasted or opened images: reconstructed for an autoencoder, classified otherwise."""
        (self.autoencoder.reconstruct_sources if self.autoencoder.active else self.classify.classify_sources)(sources)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:
        if accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.handle_drop(event.mimeData())
        event.acceptProposedAction()

    def handle_drop(self, mime: Any) -> None:
        """What a drop does (also called by tests with a QMimeData)."""
        self.classify_sources(sources_from_mime(mime))

    def choose_run_folder(self) -> None:
        from engine import default_runs_root

        path = QFileDialog.getExistingDirectory(self, "Open a run folder", str(self.runs.root or default_runs_root()))
        if path:
            self.runs.open_run(path)

    # ==== settings and closing =========================================================================
    def _restore_window_state(self) -> None:
        self._columns_restored = False
        for key, restore in (
            ("window/geometry", self.restoreGeometry),
            ("window/splitter", self.splitter.restoreState),
        ):
            value = self.settings.bytes_value(key)
            if value is not None:
                restored = restore(value)
                self._columns_restored |= key == "window/splitter" and bool(restored)
        self.controls.setCurrentIndex(int(self.settings.store.value("window/controls_tab", 0) or 0))

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if not self._columns_restored:  # a first start: the columns' shares of this screen's width
            self._columns_restored = True
            self.reset_columns()

    def reset_columns(self) -> None:
        """View → Reset column widths: each column its share of the window's width."""
        self.centralWidget().layout().activate()
        fit_columns(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing during a training or a grid says what it does and never freezes: the training is
        asked to stop after its current batch, the window stays alive while the engine saves the
        run, and closes as soon as the run is complete on disk. Then the workers go."""
        if self.training.busy:
            event.ignore()
            if not self._closing:
                self._closing = True
                what = "grid" if self.session.grid.status == "running" else "training"
                self.session.say(f"Closing: stopping the {what} after this batch and saving the run…", topic="closing")
                self.statusBar().showMessage("Saving the run, then closing…")
                self.training.finished.connect(lambda _result: QTimer.singleShot(0, self.close))
                self.training.closing = True  # no new classifier: nobody will use it
                self.training.stop()
            return
        self.plots.timer.stop()
        self.lessons.restore_settings()  # the user's own settings are what is remembered, not a lesson's
        self.tasks.shutdown(wait_lanes=("training", "engine"), timeout=CLOSE_WAIT_S)
        self.persistence.save()
        for key, value in (
            ("window/geometry", self.saveGeometry()),
            ("window/splitter", self.splitter.saveState()),
            ("window/controls_tab", self.controls.currentIndex()),
        ):
            self.settings.set_value(key, value)
        self.settings.sync()
        self.session.close()
        super().closeEvent(event)
