"""The experiment config as the window's single source of truth.

Widgets never keep their own copy of a choice: they write intent with `update(...)` (dotted keys,
validated by the engine's config model) and redraw in `changed`. An invalid value is refused with
the engine's one-line message, and the widgets snap back to the config.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from engine.config import ExperimentConfig
from engine.errors import ConfigError


class ConfigStore(QObject):
    changed = Signal(set)        # the dotted keys that changed ("arch.name", "layer_trainable", ...)
    rejected = Signal(str)       # why an update was refused

    def __init__(self, config: ExperimentConfig | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._config = config or ExperimentConfig()

    @property
    def config(self) -> ExperimentConfig:
        """The current config; treat it as read-only (change it with `update`)."""
        return self._config

    def snapshot(self) -> ExperimentConfig:
        """An independent copy, e.g. for a training thread."""
        return ExperimentConfig.from_dict(self._config.to_dict())

    def update(self, **changes: Any) -> bool:
        """Apply dotted-key changes (`update(**{"training.epochs": 5})`); False when refused."""
        current = self._config.to_dict()
        changed = {k for k, v in changes.items() if _get(current, k) != v}
        if not changed:
            return True
        try:
            self._config = self._config.updated(**{k: changes[k] for k in changed})
        except ConfigError as err:
            self.rejected.emit(str(err))
            self.changed.emit(set(changes))  # let the widget that asked snap back
            return False
        self.changed.emit(changed)
        return True

    def replace(self, config: ExperimentConfig) -> None:
        """Swap the whole config (e.g. a run's config opened from disk)."""
        self._config = config
        self.changed.emit({"*"})


def _get(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return object()
        data = data[part]
    return data


def touches(keys: set[str], *prefixes: str) -> bool:
    """Whether any changed key is (under) one of `prefixes`; "*" matches everything."""
    return "*" in keys or any(k == p or k.startswith(p + ".") or p.startswith(k + ".") for k in keys for p in prefixes)
