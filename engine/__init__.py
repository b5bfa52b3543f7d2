"""LayerLab's engine: datasets, architectures, layer freezing, training, inference, runs,
experiments, export and lessons, as a plain Python library (no Qt).

Front ends use the names in `__all__` (the table and their sections are in `engine.api`; the
reference is docs/engine-api.md). Importing `engine` is cheap: a name's module is imported the
first time the name is used, so a front end can show a window at once and let TensorFlow load in
the background.

Modules log under `engine.*`; as a library the engine sets no handler of its own (the window
writes a log file; the CLI keeps stderr to one line per problem).
"""

import logging
from typing import Any

from engine.api import API, resolve

logging.getLogger("engine").addHandler(logging.NullHandler())

__version__ = "0.1.0"
__all__ = ["__version__", *API]


def __getattr__(name: str) -> Any:
    if name not in API:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = resolve(name)
    globals()[name] = value  # the next use is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(API))
