"""What the window remembers between launches: the last config, geometry, splitters, folders.

Stored with QSettings. When `LAYERLAB_HOME` is set (tests, portable installs) everything lives in
`$LAYERLAB_HOME/settings.ini` next to the runs, so a test never touches the user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import QByteArray, QSettings

from engine import ConfigError, ExperimentConfig
from gui.session import Preferences

ORGANIZATION = "LayerLab"
APPLICATION = "LayerLab"


def open_settings() -> QSettings:
    home = os.environ.get("LAYERLAB_HOME")
    if home:
        return QSettings(str(Path(home).expanduser() / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


class Settings:
    """Typed access to the few things LayerLab persists."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store or open_settings()

    def load_config(self) -> ExperimentConfig:
        """The last experiment config (settings added since take their defaults); the defaults
        when none is saved or it no longer validates."""
        text = self.store.value("experiment/config", "", type=str)
        if text:
            try:
                return ExperimentConfig.from_json(text, as_run=False)
            except ConfigError:
                pass
        return ExperimentConfig()

    def save_config(self, config: ExperimentConfig) -> None:
        self.store.setValue("experiment/config", config.to_json())

    def load_preferences(self) -> Preferences:
        text = self.store.value("window/preferences", "", type=str)
        try:
            return Preferences.model_validate_json(text) if text else Preferences()
        except ValidationError:
            return Preferences()

    def save_preferences(self, preferences: Preferences) -> None:
        self.store.setValue("window/preferences", preferences.model_dump_json())

    def mark_loading(self, name: str) -> None:
        """Note, on disk at once, that a dataset is loading (cleared when it has loaded or failed)."""
        self.store.setValue("data/loading", name)
        self.store.sync()

    def clear_loading(self) -> None:
        self.store.remove("data/loading")
        self.store.sync()

    def loading_when_closed(self) -> str:
        """The dataset that was loading when the last session ended without finishing it ("" if none)."""
        return self.store.value("data/loading", "", type=str)

    def bytes_value(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_value(self, key: str, value: object) -> None:
        self.store.setValue(key, value)

    def last_folder(self) -> str:
        folder = self.store.value("paths/last_folder", "", type=str)
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def set_last_folder(self, path: str | Path) -> None:
        p = Path(path)
        self.store.setValue("paths/last_folder", str(p if p.is_dir() else p.parent))

    def sync(self) -> None:
        self.store.sync()
