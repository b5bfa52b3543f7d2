"""The disk caches (decoded images, frozen features) and the memory budget the in-memory caches
respect: shown and cleared on request, in the background."""

from __future__ import annotations

from typing import Any, Protocol

from gui.jobs import caches as caches_jobs
from gui.session import Session
from gui.tasks import TaskRunner


class CachesView(Protocol):
    def show_usage(self, usage: list[Any]) -> None: ...
    def show_cleared(self, freed: int) -> None: ...


class CachesController:
    def __init__(self, session: Session, runner: TaskRunner) -> None:
        self.session = session
        self._usage = runner.slot("cache-usage", "io")
        self._clear = runner.slot("clear-caches", "io")
        self.view: CachesView | None = None

    def attach(self, view: CachesView) -> None:
        """A view opened (the dialog): show it the caches as they are now."""
        self.view = view
        self.refresh()

    def refresh(self) -> None:
        self._usage.start(
            caches_jobs.cache_usage,
            on_result=lambda usage: self.view and self.view.show_usage(usage),
            on_error=lambda err: self.session.say(f"Cannot read the caches: {err}", "error", topic="caches"),
        )

    def clear(self) -> None:
        if self.session.training.running:
            self.session.say("Stop the training before clearing the caches it reads.", "warning", topic="busy")
            return
        self._clear.start(
            caches_jobs.clear_caches,
            on_result=self._cleared,
            on_error=lambda err: self.session.say(f"Cannot clear the caches: {err}", "error", topic="caches"),
        )

    def _cleared(self, freed: int) -> None:
        if self.view is not None:
            self.view.show_cleared(freed)
        self.refresh()
