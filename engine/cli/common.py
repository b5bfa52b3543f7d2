"""What every `layerlab-cli` command shares: exit codes, where results and messages go, how values
are printed, starting TensorFlow, and stopping on SIGINT/SIGTERM.

Results go to the stdout the command was started with (`out`); messages, progress and the one
line a mistake gets go to stderr (`err`). With `--json`, stdout is kept for the one JSON document
(`main` redirects everything else that prints there, Keras's download progress included).
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from engine import CancelToken, ConfigError, MemoryBudget, import_tensorflow_quietly, printable_path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Results:
    """Where results go while stdout is redirected to stderr (set by `main`)."""

    stream: TextIO | None = None


RESULTS = _Results()


def out(text: str) -> None:
    """The command's result, on the stdout the command was started with."""
    print(text, file=RESULTS.stream or sys.stdout, flush=True)


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    return " ".join(text.split())[:1000]


def printable(value: Any) -> str:
    return printable_path(str(value)) if value is not None else ""


def fmt(value: Any) -> str:
    return "n/a" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.4f}"


def start_tensorflow() -> None:
    """Start TensorFlow without its start-up chatter, once a command's cheap checks have passed."""
    import_tensorflow_quietly()


def memory_budget(megabytes: float | None) -> MemoryBudget:
    """`--memory-budget MB` as a `MemoryBudget` (the machine's default when not given)."""
    if megabytes is None:
        return MemoryBudget.default()
    if not math.isfinite(megabytes) or megabytes < 0:
        raise ConfigError(f"--memory-budget must be a number of megabytes, 0 or more (got {megabytes:g})")
    return MemoryBudget.from_megabytes(megabytes)


def report_skipped(skipped: list[tuple[str, str]], when: str) -> None:
    if skipped:
        names = ", ".join(printable(Path(path).name) for path, _ in skipped[:5])
        more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        err(f"skipped {len(skipped)} file(s) that are not readable images{when}: {names}{more}")


class StopOnSignals:
    """While training: SIGINT and SIGTERM set the cancel token (the window's Stop button) and the
    trainer saves the run so far; the first signal also restores the default handlers, so a
    second one ends the process at once.

    The handler only records and cancels: printing from it could interrupt a print in progress
    on the same stream. Handlers can only be set from the main thread; elsewhere (a test calling
    `main` in a thread) signals keep their usual meaning.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, cancel: CancelToken) -> None:
        self.cancel = cancel
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        self.cancel.cancel()
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)

    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process a signal stopped."""
        return 128 + (self.received or signal.SIGINT)

    def signal_name(self) -> str:
        return signal.Signals(self.received or signal.SIGINT).name
