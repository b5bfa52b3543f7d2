"""Loading the chosen dataset in the background, newest choice wins."""

from __future__ import annotations

from typing import Any, Protocol

from engine import dataset_key, nameable
from gui.jobs import data as data_jobs
from gui.session import DataState, Session, memory_budget, touches
from gui.tasks import TaskRunner

SAMPLES_PER_CLASS = 8


class DataView(Protocol):
    def show_loading(self, name: str) -> None: ...
    def show_error(self, message: str) -> None: ...
    def show_dataset(self, dataset: Any, samples: dict[int, Any], nameable: bool = False) -> None: ...


class DataController:
    def __init__(self, session: Session, runner: TaskRunner, view: DataView) -> None:
        self.session = session
        self.view = view
        self._slot = runner.slot("dataset", "io")
        self._names = runner.slot("class-names", "io")
        self._loading_key: str | None = None
        self._skipped = 0  # files found unreadable when the dataset loaded
        session.config.changed.connect(self._on_config)
        session.events.data.connect(self._render)

    def start(self) -> None:
        self.request()

    def _on_config(self, keys: set[str]) -> None:
        if touches(keys, "data", "training.seed"):
            self.request()

    def request(self) -> None:
        """Load the dataset the config names, unless it is loaded or loading already."""
        config = self.session.config.config
        key = dataset_key(config.data, config.training.seed)
        if key in (self.session.data.key, self._loading_key):
            return
        self._loading_key = key
        self.session.update("data", status="loading", name=config.data.name)
        self._slot.start(
            data_jobs.load_dataset,
            config.data,
            config.training.seed,
            SAMPLES_PER_CLASS,
            memory_budget(self.session.preferences.value),
            on_result=self._loaded,
            on_error=self._failed,
        )

    @property
    def busy(self) -> bool:
        return self._slot.busy

    def _loaded(self, bundle: data_jobs.DatasetBundle) -> None:
        self._loading_key = None
        dataset = bundle.dataset
        self._skipped = len(dataset.skipped)
        self.session.update("data", status="ready", key=bundle.key, dataset=dataset, samples=bundle.samples, error="")
        self.session.clear_message("data")
        skipped = len(dataset.skipped)
        if skipped:
            what = "1 file could not be read and was" if skipped == 1 else f"{skipped} files could not be read and were"
            self.session.say(f"{what} skipped (see the Data tab).", "warning", topic="data")

    def after_training(self, result: Any = None) -> None:
        """A streamed dataset finds unreadable files as a training reads them: show those too."""
        dataset = self.session.data.dataset
        if dataset is not None and len(dataset.skipped) != self._skipped:
            self._skipped = len(dataset.skipped)
            self.session.update("data", dataset=dataset)

    def _failed(self, err: Any) -> None:
        self._loading_key = None
        text = str(err) or type(err).__name__
        self.session.update("data", status="failed", key=None, dataset=None, samples={}, error=text)
        self.session.say(f"Dataset problem: {text}", "error", getattr(err, "details", ""), topic="data")

    def _render(self, state: DataState) -> None:
        if state.status == "loading":
            self.view.show_loading(state.name)
        elif state.status == "failed":
            self.view.show_error(state.error)
        elif state.status == "ready":
            self.view.show_dataset(state.dataset, state.samples, nameable(self.session.config.config.data))

    # --- names for classes that have none ---------------------------------------------------------------
    def name_classes(self, names: list[str]) -> None:
        """Keep `names` for the classes of the data (in a sidecar beside it), then load it again with them."""
        dataset = self.session.data.dataset
        if dataset is None:
            return
        data = self.session.config.config.data
        self._names.start(
            data_jobs.save_class_names,
            data,
            list(names),
            len(dataset.class_names),
            on_result=self._named,
            on_error=lambda err: self.session.say(f"Class names not kept: {err}", "error", topic="data"),
        )

    def _named(self, sidecar: str) -> None:
        self.session.status(f"Class names kept in {sidecar}", 6000)
        self.session.update("data", key=None)  # what was loaded has the old names: load it again
        self.request()
