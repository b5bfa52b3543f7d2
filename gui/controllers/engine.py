"""Engine start-up and the device: TensorFlow loads in the background while the window is already
usable; the one writer of `session.engine`, which also follows the GPU memory TensorFlow holds
while a training runs on a GPU."""

from __future__ import annotations

from typing import Any, Protocol

from psygnal import Signal

from gui.engine_startup import EngineInfo
from gui.jobs import startup as startup_jobs
from gui.session import EngineState, Session, TrainingState
from gui.tasks import TaskRunner

GPU_POLL_MS = 2000


class EngineView(Protocol):
    def show_engine(self, state: EngineState) -> None: ...


class EngineController:
    gpu_polled = Signal(object)  # (MiB,) or (None,) on the CPU

    def __init__(self, session: Session, runner: TaskRunner, view: EngineView) -> None:
        self.session = session
        self.runner = runner
        self.view = view
        self._slot = runner.slot("engine-startup", "startup")
        self._gpu = runner.slot("gpu-memory", "monitor")
        self._polling = False
        session.events.engine.connect(view.show_engine)
        session.events.training.connect(self._on_training)
        view.show_engine(session.engine)

    def start(self) -> None:
        self._slot.start(startup_jobs.start_engine, on_result=self._ready, on_error=self._failed)

    def _ready(self, info: EngineInfo) -> None:
        self.session.update("engine", status="ready", device=info.device, seconds=info.seconds, error="")

    def _failed(self, err: Any) -> None:
        text = str(err) or type(err).__name__
        self.session.update("engine", status="failed", error=text)
        self.session.say(text, "error", topic="engine")

    # --- the device a training runs on, and its memory ------------------------------------------------
    def _on_training(self, training: TrainingState) -> None:
        if training.device and training.device != self.session.engine.device:
            self.session.update("engine", device=training.device)
        on_gpu = training.running and bool(training.device) and training.device != "CPU"
        if on_gpu and not self._polling:
            self._polling = True
            self.poll_gpu_memory()
            self.runner.repeat("gpu-memory", GPU_POLL_MS, self.poll_gpu_memory)
        elif self._polling and not training.running:
            self._polling = False
            self.runner.stop_repeat("gpu-memory")
            self.poll_gpu_memory()  # what is still held once it is done

    def poll_gpu_memory(self) -> None:
        """Ask how much GPU memory TensorFlow holds (one poll at a time; never behind other work)."""
        if self._gpu.busy or not self.session.engine.ready:
            return
        self._gpu.start(
            startup_jobs.gpu_memory, on_result=self._on_gpu_memory, on_error=lambda err: self._on_gpu_memory((None,))
        )

    def _on_gpu_memory(self, polled: tuple[float | None]) -> None:
        (megabytes,) = polled
        if megabytes is None:
            self.runner.stop_repeat("gpu-memory")  # CPU (or no figure to be had): ask no more
        self.session.update("engine", gpu_memory_mb=megabytes)
        self.gpu_polled.emit(polled)
