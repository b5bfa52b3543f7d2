"""The window's layout: the run bar across the top; under it, three columns in a splitter: the
settings on the left, one view at a time in the centre (the curves, a comparison, a grid, a
lesson, an autoencoder's reconstructions) with the one-line message bar, and the results on the
right. Builds the panels and puts them on the window as attributes; connects nothing (the window
connects panels to controllers).

What makes it hold on a 1280×720 laptop as on a large screen: the run bar has a fixed geometry
(gui/panels/training.py); no tab bar scrolls, and no column can be made narrower than its tab bar
or its widest page (the splitter stops there, or collapses the column whole, never clips it);
settings pages scroll vertically only; the centre shows one view at full height.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QComboBox, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from engine import default_runs_root, list_architectures, list_datasets
from gui import theme
from gui.panels.augmentation import AugmentationPanel
from gui.panels.centre import CentreViews
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
from gui.widgets import EngineStatus, MessageBar

#: The window's size on a first start, and the least it can be (a 1280×720 screen fits it).
START_SIZE = QSize(1560, 940)
MIN_SIZE = QSize(960, 560)
#: Shares of the width the side columns get on a first start (the centre takes the rest), and
#: the most they get on a wide screen (the curves deserve the room).
SETTINGS_SHARE, RESULTS_SHARE = 0.25, 0.28
SETTINGS_MAX, RESULTS_MAX = 430, 500
#: A drop-down list in a side column is at least this many characters wide; a longer choice is
#: elided in the closed box (whole in the open list), instead of widening the column.
COMBO_CHARACTERS = 6


def shrinkable_combos(column: QWidget) -> None:
    """Drop-down lists no wider than `COMBO_CHARACTERS` need: the column decides their width."""
    for combo in column.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARACTERS)


class VerticalScroll(QScrollArea):
    """A settings page that scrolls up and down, never sideways: the column is never narrower than
    the page's widest row (its minimum width is the page's, plus the scroll bar)."""

    def __init__(self, page: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setWidget(page)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:
        page = self.widget().minimumSizeHint()
        return QSize(page.width() + self.verticalScrollBar().sizeHint().width() + 2, 120)

    def sizeHint(self) -> QSize:
        return QSize(self.minimumSizeHint().width(), super().sizeHint().height())


def columns_tabs(name: str, *pages: tuple[QWidget, str, str]) -> QTabWidget:
    """A column's tabs (page, title, tooltip): the tab bar never scrolls nor elides, so the column
    can never be narrower than its titles."""
    tabs = QTabWidget()
    tabs.setObjectName(name)
    bar = tabs.tabBar()
    bar.setUsesScrollButtons(False)
    bar.setElideMode(Qt.TextElideMode.ElideNone)
    bar.setExpanding(False)
    for page, title, tip in pages:
        index = tabs.addTab(page, title)
        tabs.setTabToolTip(index, tip)
    return tabs


def build_panels(window: Any, runs_root: Path | None) -> None:
    """Create every panel of `window` (a MainWindow whose session and settings exist) and lay them out."""
    window.setWindowTitle("LayerLab")
    if theme.ICON.is_file():
        window.setWindowIcon(QIcon(str(theme.ICON)))
    window.setAcceptDrops(True)
    window.setMinimumSize(MIN_SIZE)
    window.resize(start_size())
    config, start_folder = window.session.config, window.settings.last_folder
    datasets = [(d.name, d.description, d.needs_download) for d in list_datasets() if ":" not in d.name]
    window.data_panel = DataPanel(config, start_folder, datasets)
    window.model_panel = ModelPanel(config, list_architectures(None))
    window.augmentation_panel = AugmentationPanel(config)
    window.lr_panel = LrFinderPanel()
    window.training_panel = TrainingPanel(config, window.lr_panel)
    window.grid_panel = GridPlanPanel(window.session.grid_plan)
    window.controls = columns_tabs(
        "ControlTabs",
        (VerticalScroll(window.data_panel), "Data", "What the model learns from: the dataset, its size and split"),
        (VerticalScroll(window.model_panel), "Model", "The architecture, its options, and which layers train"),
        (VerticalScroll(window.augmentation_panel), "Augment", "Random changes to the training images, with a preview"),
        (VerticalScroll(window.training_panel), "Training", "Optimiser, rate and schedule, epochs, stages, speed"),
        (VerticalScroll(window.grid_panel), "Grid", "Train every combination of a few settings, and compare"),
    )
    window.run_bar, window.message_bar, window.plots = RunBar(), MessageBar(), PlotsPanel()
    window.comparison_panel, window.grid_results = ComparisonPanel(), GridResultsPanel()
    window.lesson_card, window.reconstructions = LessonCard(), ReconstructionPanel()
    window.centre = CentreViews(window.message_bar)
    window.centre.add_view(
        "curves", "Curves", window.plots, "The learning curves of the training, or of the opened run"
    )
    window.centre.add_view(
        "comparison", "Comparison", window.comparison_panel, "The compared runs side by side", available=False
    )
    window.centre.add_view("grid", "Grid", window.grid_results, "The grid's runs, combination by combination", False)
    window.centre.add_view("lesson", "Lesson", window.lesson_card, "The lesson: its note and figures", False)
    window.centre.add_view(
        "autoencoder", "Reconstructions", window.reconstructions, "What the autoencoder gives back", False
    )
    window.classify_panel = ClassifyPanel(window.session.preferences, start_folder)
    window.errors_panel = ErrorsPanel(window.session.preferences)
    window.runs_panel, window.map_panel, window.labels_panel = (
        RunsPanel(runs_root or default_runs_root()),
        MapPanel(),
        LabelsPanel(),
    )
    window.results = columns_tabs(
        "ResultTabs",
        (window.classify_panel, "Classify", "Drop, paste or open images: the model's answer for each"),
        (window.errors_panel, "Errors", "The final figures, the confusion matrix and the images the model gets wrong"),
        (window.map_panel, "Map", "The validation images placed by what the network makes of them"),
        (window.labels_panel, "Labels", "Samples whose label looks wrong"),
        (window.runs_panel, "Runs", "Every training saved: open, compare, resume, continue or fork one"),
    )
    for column in (window.controls, window.results):
        shrinkable_combos(column)
    window.splitter = QSplitter(Qt.Orientation.Horizontal)
    window.splitter.setObjectName("MainSplitter")
    for i, (widget, stretch) in enumerate(((window.controls, 0), (window.centre, 1), (window.results, 0))):
        window.splitter.addWidget(widget)
        window.splitter.setStretchFactor(i, stretch)
    window.splitter.setCollapsible(1, False)  # a side column may fold away whole, never the centre
    central = QWidget()
    central.setObjectName("Central")
    column = QVBoxLayout(central)
    column.setContentsMargins(6, 6, 6, 0)
    column.setSpacing(4)
    column.addWidget(window.run_bar)
    column.addWidget(window.splitter, 1)
    window.setCentralWidget(central)
    window.engine_status = EngineStatus()
    window.statusBar().addPermanentWidget(window.engine_status)


def fit_columns(window: Any) -> None:
    """Each side column its share of the window's width (as on a first start), never less than it
    needs nor more than `SETTINGS_MAX` / `RESULTS_MAX`; the centre takes the rest."""
    width = window.splitter.width() if window.splitter.isVisible() else window.width() - 12
    left = min(SETTINGS_MAX, max(window.controls.minimumSizeHint().width(), int(width * SETTINGS_SHARE)))
    right = min(RESULTS_MAX, max(window.results.minimumSizeHint().width(), int(width * RESULTS_SHARE)))
    window.splitter.setSizes([left, max(0, width - left - right), right])


def start_size() -> QSize:
    """`START_SIZE`, or the screen's available area when it is smaller."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return START_SIZE
    available = screen.availableGeometry().size()
    return QSize(min(START_SIZE.width(), available.width()), min(START_SIZE.height(), available.height()))
