"""Progress on stderr: a training's events, a grid's runs, the preparation of a class folder."""

from __future__ import annotations

import math
import time

from engine import (
    EpochEnd,
    Event,
    Failed,
    Finished,
    GridRunRetried,
    GridRunStarted,
    Preparing,
    Resumed,
    StageChanged,
    Started,
    settings_label,
)
from engine.cli.common import err, fmt, printable


class TrainingProgress:
    """Prints training events on stderr; `Preparing` at most every `PREPARING_LINE_S` (and its end)."""

    PREPARING_LINE_S = 2.0

    def __init__(self) -> None:
        self._last_line = -math.inf

    def __call__(self, event: Event) -> None:
        if isinstance(event, Preparing):
            self._preparing(event)
        else:
            print_progress(event)

    def _preparing(self, event: Preparing) -> None:
        now = time.monotonic()
        if event.done < event.total and now - self._last_line < self.PREPARING_LINE_S:
            return
        self._last_line = now
        err(preparing_line(event))


def preparing_line(event: Preparing) -> str:
    """ "decoding images: 1,200/5,000 (310/s, 12 s left)" and the like."""
    what = "decoding images" if event.stage == "decoding" else "extracting features"
    if event.from_cache:
        return f"{what}: all {event.total:,} read from the cache"
    if event.done >= event.total:
        pace = f"{event.seconds:.1f} s, {event.rate:,.0f}/s"
    else:
        left = event.seconds_left
        pace = f"{event.rate:,.0f}/s, {left:,.0f} s left" if math.isfinite(left) else "starting"
    notes = []
    if event.stage == "extracting" and event.decoded:
        notes.append(f"{event.decoded:,} decoded")
    if event.skipped:
        notes.append(f"{event.skipped:,} unreadable")
    return f"{what}: {event.done:,}/{event.total:,} ({pace}{'; ' + ', '.join(notes) if notes else ''})"


def print_progress(event: Event) -> None:
    """One line per start, epoch, stage and resume of a training."""
    if isinstance(event, Started):
        cache = "on cached features" if event.feature_cache else "end to end"
        err(
            f"training on {event.device}, {event.samples_train} train / {event.samples_val} validation samples, "
            f"{event.trainable_params:,} of {event.total_params:,} parameters trainable, {cache}"
            + (f" ({event.note})" if event.note and not event.feature_cache else "")
        )
        err(f"run folder: {printable(event.run_dir)}")
    elif isinstance(event, EpochEnd):
        err(
            f"epoch {event.epoch + 1}/{event.epochs}: loss {fmt(event.loss)} acc {fmt(event.accuracy)} "
            f"val_loss {fmt(event.val_loss)} val_acc {fmt(event.val_accuracy)} ({event.seconds:.1f}s)"
        )
    elif isinstance(event, StageChanged):
        err(f"stage {event.stage}: {event.description}")
    elif isinstance(event, Resumed):
        err(resume_line(event))


def resume_line(event: Resumed) -> str:
    done = event.from_epoch
    note = f" ({event.note})" if event.note else ""
    return (
        f"resuming at epoch {done + 1}/{event.epochs}: the {done} epoch{'s' if done != 1 else ''} before are kept{note}"
    )


class GridProgress:
    """A grid's observer: one line per run started and finished, the runs' epochs between."""

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.finished = 0

    def __call__(self, event: object) -> None:
        if isinstance(event, GridRunStarted):
            where = f" on {event.host} (pid {event.pid})" if event.host else ""
            err(
                f"grid run {event.index + 1}/{event.total}: {settings_label(event.settings)}, "
                f"repeat {event.repeat + 1}/{self.repeats}{where}"
            )
        elif isinstance(event, GridRunRetried):
            err(
                f"grid run {event.index + 1}/{event.total}: its worker was lost (killed, or out of memory); "
                f"starting it again (attempt {event.attempt})"
            )
        elif isinstance(event, Finished):
            self.finished += not event.cancelled
            m = event.metrics
            err(
                f"  val_acc {fmt(m.val_accuracy)}  test_acc {fmt(m.test_accuracy)}  "
                f"({fmt_seconds(m.seconds)}){'  stopped' if event.cancelled else ''}"
            )
        elif isinstance(event, Failed):
            err(f"  run failed: {event.reason}")
        else:
            print_progress(event)


def fmt_seconds(seconds: float | None) -> str:
    return f"{seconds:.1f}s" if seconds is not None else "n/a"
