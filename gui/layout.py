"""The window's layout: controls on the left, the run bar, messages and curves in the centre, results
on the right. Builds the panels and puts them on the window as attributes; connects nothing (the
window connects panels to controllers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from engine import default_runs_root, list_architectures, list_datasets
from gui import theme
from gui.panels.augmentation import AugmentationPanel
from gui.panels.classify import ClassifyPanel
from gui.panels.compare import ComparisonPanel
from gui.panels.data import DataPanel
from gui.panels.errors import ErrorsPanel
from gui.panels.grid import GridPlanPanel, GridResultsPanel
from gui.panels.insight_map import MapPanel
from gui.panels.labels import LabelsPanel
from gui.panels.lesson import LessonCard
from gui.panels.lr_finder import LrFinderPanel
from gui.panels.model import ModelPanel
from gui.panels.plots import PlotsPanel
from gui.panels.reconstruction import ReconstructionPanel
from gui.panels.runs import RunsPanel
from gui.panels.training import RunBar, TrainingPanel
from gui.widgets import EngineStatus, MessageBar, scrolling, tab_widget


def build_panels(window: Any, runs_root: Path | None) -> None:
    """Create every panel of `window` (a MainWindow whose session and settings exist) and lay them out."""
    window.setWindowTitle("LayerLab")
    if theme.ICON.is_file():
        window.setWindowIcon(QIcon(str(theme.ICON)))
    window.setAcceptDrops(True)
    window.resize(1560, 940)
    window.setMinimumSize(1100, 680)
    config, start_folder = window.session.config, window.settings.last_folder
    datasets = [(d.name, d.description, d.needs_download) for d in list_datasets() if ":" not in d.name]
    window.data_panel = DataPanel(config, start_folder, datasets)
    window.model_panel = ModelPanel(config, list_architectures(None))
    window.augmentation_panel = AugmentationPanel(config)
    window.lr_panel = LrFinderPanel()
    window.training_panel = TrainingPanel(config, window.lr_panel)
    window.grid_panel = GridPlanPanel(window.session.grid_plan)
    window.controls = tab_widget(
        "ControlTabs",
        360,
        (scrolling(window.data_panel), "Data"),
        (window.model_panel, "Model"),
        (scrolling(window.augmentation_panel), "Augment"),
        (scrolling(window.training_panel), "Training"),
        (scrolling(window.grid_panel), "Grid"),
    )
    window.controls.setTabToolTip(2, "Random changes to the training images, with a preview")
    centre = QWidget()
    centre.setObjectName("Centre")
    column = QVBoxLayout(centre)
    column.setContentsMargins(8, 8, 8, 8)
    column.setSpacing(8)
    window.run_bar, window.message_bar, window.plots = RunBar(), MessageBar(), PlotsPanel()
    window.comparison_panel, window.grid_results = ComparisonPanel(), GridResultsPanel()
    window.lesson_card, window.reconstructions = LessonCard(), ReconstructionPanel()
    window.centre_split = QSplitter(Qt.Orientation.Vertical)  # curves above; comparison, grid or autoencoder below
    for widget in (window.plots, window.comparison_panel, window.grid_results, window.reconstructions):
        window.centre_split.addWidget(widget)
    window.centre_split.setStretchFactor(0, 3)
    window.centre_split.setStretchFactor(1, 1)
    for widget, stretch in (
        (window.run_bar, 0),
        (window.message_bar, 0),
        (window.lesson_card, 0),
        (window.centre_split, 1),
    ):
        column.addWidget(widget, stretch)
    window.classify_panel = ClassifyPanel(window.session.preferences, start_folder)
    window.errors_panel = ErrorsPanel(window.session.preferences)
    window.runs_panel, window.map_panel, window.labels_panel = (
        RunsPanel(runs_root or default_runs_root()),
        MapPanel(),
        LabelsPanel(),
    )
    window.results = tab_widget(
        "ResultTabs",
        440,
        (window.classify_panel, "Classify"),
        (window.errors_panel, "Errors"),
        (window.map_panel, "Map"),
        (window.labels_panel, "Labels"),
        (window.runs_panel, "Runs"),
    )
    window.splitter = QSplitter(Qt.Orientation.Horizontal)
    window.splitter.setObjectName("MainSplitter")
    for i, (widget, stretch) in enumerate(((window.controls, 0), (centre, 1), (window.results, 0))):
        window.splitter.addWidget(widget)
        window.splitter.setStretchFactor(i, stretch)
    window.splitter.setSizes([440, 600, 520])
    window.splitter.setChildrenCollapsible(False)
    window.setCentralWidget(window.splitter)
    window.engine_status = EngineStatus()
    window.statusBar().addPermanentWidget(window.engine_status)
