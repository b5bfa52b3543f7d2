"""Each view a controller is given implements the Protocol the controller declares for it, so the
fake views of the controller tests (tests/gui/fakes.py) stand for the real panels: a method the
Protocol declares exists on the panel and takes the same arguments."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Protocol

import pytest

import gui.controllers
from tests.gui.fakes import protocol_methods

# (controller module, Protocol, the view class it is given in the window)
VIEWS = [
    ("data", "DataView", "gui.panels.data", "DataPanel"),
    ("inspect", "ModelView", "gui.panels.model", "ModelPanel"),
    ("preview", "PreviewView", "gui.panels.augmentation", "AugmentationPanel"),
    ("training", "TrainingView", "gui.panels.training", "RunBar"),
    ("curves", "CurvesView", "gui.panels.plots", "PlotsPanel"),
    ("centre", "CentreView", "gui.panels.centre", "CentreViews"),
    ("results", "ResultsView", "gui.panels.errors", "ErrorsPanel"),
    ("classify", "ClassifyView", "gui.panels.classify", "ClassifyPanel"),
    ("runs", "RunsView", "gui.panels.runs", "RunsPanel"),
    ("runs", "ComparisonView", "gui.panels.compare", "ComparisonPanel"),
    ("grid", "GridView", "gui.panels.grid", "GridResultsPanel"),
    ("grid", "GridPlanView", "gui.panels.grid", "GridPlanPanel"),
    ("insight_map", "MapView", "gui.panels.insight_map", "MapPanel"),
    ("labels", "LabelsView", "gui.panels.labels", "LabelsPanel"),
    ("lessons", "LessonView", "gui.panels.lesson", "LessonCard"),
    ("autoencoder", "ReconstructionView", "gui.panels.reconstruction", "ReconstructionPanel"),
    ("autoencoder", "AccuracyView", "gui.panels.plots", "PlotsPanel"),
    ("keep", "KeepView", "gui.panels.runs", "RunsPanel"),
    ("lr_finder", "LrFinderView", "gui.panels.lr_finder", "LrFinderPanel"),
    ("engine", "EngineView", "gui.widgets", "EngineStatus"),
    ("caches", "CachesView", "gui.caches_dialog", "CachesDialog"),
    ("export", "ExportView", "gui.export_dialog", "ExportDialog"),
]


def _protocols() -> set[tuple[str, str]]:
    found = set()
    for info in pkgutil.iter_modules(gui.controllers.__path__):
        module = importlib.import_module(f"gui.controllers.{info.name}")
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and Protocol in value.__mro__[1:]:
                found.add((info.name, name))
    return found


def test_every_view_protocol_is_paired_with_the_view_the_window_gives() -> None:
    assert _protocols() == {(module, protocol) for module, protocol, _, _ in VIEWS}


@pytest.mark.parametrize(("module", "protocol", "view_module", "view"), VIEWS)
def test_the_view_implements_its_protocol(module: str, protocol: str, view_module: str, view: str) -> None:
    declared = protocol_methods(getattr(importlib.import_module(f"gui.controllers.{module}"), protocol))
    cls = getattr(importlib.import_module(view_module), view)
    assert declared, f"{protocol} declares no method"
    for name, method in declared.items():
        real = getattr(cls, name, None)
        assert callable(real), f"{view} lacks {name}(), which {protocol} declares"
        wanted = inspect.signature(method)
        placeholders = [object()] * (len(wanted.parameters) - 1)
        try:
            inspect.signature(real).bind(None, *placeholders)
        except TypeError as err:
            pytest.fail(f"{view}.{name} does not take what {protocol}.{name} declares: {err}")
