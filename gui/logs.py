"""Where LayerLab writes its log, and how it is set up (Qt-free).

The window logs to a rotating file in the platform's user log folder (or `$LAYERLAB_HOME/logs`
when that is set: tests, portable installs). Engine modules log under `engine.*`, the window
under `gui.*`. Help → Show log shows the file. Tracebacks go here; banners stay one line.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterator
from pathlib import Path

LOG_FILE = "layerlab.log"
MAX_BYTES = 2 * 2**20
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

_handler: logging.Handler | None = None


def log_folder() -> Path:
    home = os.environ.get("LAYERLAB_HOME")
    if home:
        return Path(home).expanduser() / "logs"
    from platformdirs import user_log_path

    return user_log_path("layerlab", appauthor=False)


def setup_logging(level: int = logging.INFO) -> Path:
    """Log `engine.*` and `gui.*` to the rotating log file (again, if its folder changed); its path."""
    global _handler
    path = log_folder() / LOG_FILE
    if _handler is not None and getattr(_handler, "baseFilename", "") == str(path.resolve()):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:  # a read-only home: keep running without a log file
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in ("engine", "gui"):
        logger = logging.getLogger(name)
        if _handler is not None:
            logger.removeHandler(_handler)
        logger.addHandler(handler)
        logger.setLevel(level)
    if _handler is not None:
        _handler.close()
    _handler = handler
    return path


@contextlib.contextmanager
def stderr_into_log() -> Iterator[None]:
    """Point file descriptor 2 (C and C++ code's stderr too) at the log file for the block.

    TensorFlow prints absl and CUDA-probe lines straight to descriptor 2 while it loads and first
    lists its devices ("Could not find cuda drivers", "failed call to cuInit" on a machine
    without a GPU), whatever `TF_CPP_MIN_LOG_LEVEL` says: they go to the log, where a person
    who looks for them finds them, instead of the terminal. Descriptor 2 is process-wide: what
    other threads write to stderr meanwhile goes to the log too (nothing is lost)."""
    path = log_folder() / LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:  # no log file to be had: leave stderr as it is
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


def read_tail(path: Path, max_bytes: int = 400_000) -> str:
    """The end of the log (the newest lines), or why there is none."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "Nothing has been logged yet."
    except OSError as err:
        return f"The log cannot be read: {err}"
    return text if size <= max_bytes else "…\n" + text.split("\n", 1)[-1]
