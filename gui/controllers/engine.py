"""Engine start-up: TensorFlow loads in the background while the window is already usable."""

from __future__ import annotations

from typing import Any, Protocol

from gui.engine_startup import EngineInfo
from gui.jobs import startup as startup_jobs
from gui.session import EngineState, Session
from gui.tasks import TaskRunner


class EngineView(Protocol):
    def show_engine(self, state: EngineState) -> None: ...


class EngineController:
    def __init__(self, session: Session, runner: TaskRunner, view: EngineView) -> None:
        self.session = session
        self.view = view
        self._slot = runner.slot("engine-startup", "startup")
        session.events.engine.connect(view.show_engine)
        view.show_engine(session.engine)

    def start(self) -> None:
        self._slot.start(startup_jobs.start_engine, on_result=self._ready, on_error=self._failed)

    def _ready(self, info: EngineInfo) -> None:
        self.session.update("engine", status="ready", device=info.device, seconds=info.seconds, error="")

    def _failed(self, err: Any) -> None:
        text = str(err) or type(err).__name__
        self.session.update("engine", status="failed", error=text)
        self.session.say(text, "error", topic="engine")
