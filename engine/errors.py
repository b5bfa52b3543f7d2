"""User-facing errors: each carries a message a person can act on (no traceback needed)."""
from __future__ import annotations


class LayerLabError(Exception):
    """Base class: `str(err)` is a complete, one-line explanation for the user."""


class DatasetError(LayerLabError):
    """A dataset cannot be loaded (missing download, bad folder, bad npz...)."""


class ImageError(LayerLabError):
    """An image file cannot be decoded or used (not an image, corrupt, too large...)."""


class ArchitectureError(LayerLabError):
    """An architecture cannot be built with these options or this input."""


class ConfigError(LayerLabError):
    """An experiment config is invalid (bad value, unknown layer name...)."""


class RunError(LayerLabError):
    """A run directory or saved model cannot be read or written."""


class TrainingError(LayerLabError):
    """Training could not run (out of memory, diverged, failed)."""
