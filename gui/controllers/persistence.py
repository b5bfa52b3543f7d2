"""What the window remembers between launches, and what it must not remember.

The config is saved shortly after each change, with one exception: the dataset. A dataset is
remembered only once it has loaded, and a marker on disk says which one is loading; if the
process dies while loading (a decompression bomb, a folder that exhausts memory), the next
launch finds the marker and starts without that dataset instead of dying again.
"""

from __future__ import annotations

from engine import DataOptions, ExperimentConfig
from gui.session import DataState, Session
from gui.settings import Settings
from gui.tasks import TaskRunner
from gui.text import short_name

SAVE_DEBOUNCE_MS = 500


def startup_config(settings: Settings) -> tuple[ExperimentConfig, str]:
    """The config to start with, and a warning when the last dataset was skipped."""
    config = settings.load_config()
    crashed = settings.loading_when_closed()
    settings.clear_loading()
    if not crashed or crashed != config.data.name:
        return config, ""
    warning = (
        f"LayerLab closed while loading {short_name(crashed)} last time, so it was not loaded again. "
        "Choose it in the Data tab to try once more."
    )
    return config.updated(**{"data": DataOptions().model_dump()}), warning


class PersistenceController:
    def __init__(self, session: Session, runner: TaskRunner, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self._loaded = session.config.config.data  # the data options of the last dataset that loaded
        session.config.changed.connect(lambda keys: runner.debounce("save-settings", SAVE_DEBOUNCE_MS, self.save))
        session.preferences.changed.connect(lambda keys: settings.save_preferences(session.preferences.value))
        session.events.data.connect(self._on_data)

    def _on_data(self, data: DataState) -> None:
        if data.status == "loading":
            self.settings.mark_loading(data.name)
            return
        if data.status == "ready" and data.name == self.session.config.config.data.name:
            self._loaded = self.session.config.config.data
            self.save()
        self.settings.clear_loading()

    def save(self) -> None:
        """Save the config, with the last dataset that loaded rather than one still loading or failed."""
        config = self.session.config.config
        if config.data != self._loaded:
            config = config.model_copy(update={"data": self._loaded})
        self.settings.save_config(config)
