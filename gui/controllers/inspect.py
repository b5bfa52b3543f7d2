"""The layer table: the model is built (or rebuilt) in the background whenever its inputs change.

A guard rail that teaches: a backbone with random weights ("none") and its base frozen would
train its head on random features and stay at chance; such a choice is unfrozen at once, with a
one-line explanation (the engine's `frozen_random_base` says why, and refuses it in `train`)."""

from __future__ import annotations

from typing import Any, Protocol

from engine import Inspection, ModelInspector, frozen_random_base
from gui.jobs import model as model_jobs
from gui.session import DataState, EngineState, ModelState, Session, touches
from gui.tasks import TaskRunner


class ModelView(Protocol):
    def show_building(self, text: str) -> None: ...
    def show_error(self, message: str) -> None: ...
    def show_inspection(self, rows: tuple[Any, ...], trainable: int, total: int) -> None: ...


class InspectController:
    def __init__(self, session: Session, runner: TaskRunner, view: ModelView) -> None:
        self.session = session
        self.view = view
        self._slot = runner.slot("inspect", "engine")
        self._inspector = ModelInspector()  # its model lives on the engine lane, like every job of this slot
        session.config.changed.connect(self._on_config)
        session.events.data.connect(self._on_data)
        session.events.engine.connect(self._on_engine)
        session.events.model.connect(self._render)

    @property
    def busy(self) -> bool:
        return self._slot.busy

    def _on_config(self, keys: set[str]) -> None:
        if touches(keys, "arch.weights", "arch.name") and self.session.config.config.arch.weights != "none":
            self.session.clear_message("frozen-base")  # no longer applies
        if touches(keys, "arch", "init_from") and self._unfreeze_random_base():
            return  # the change above comes back here, and builds the model
        if touches(keys, "arch", "layer_trainable", "freeze_all_but"):
            self.request()

    def _unfreeze_random_base(self) -> bool:
        """Unfreeze a frozen base of random weights, saying why (True when it did)."""
        if not frozen_random_base(self.session.config.config):
            return False
        self.session.say(
            "Weights 'none' start the base from random numbers, so it is unfrozen and trains too: frozen, it "
            "would give the head random features and the model would stay at chance.",
            "warning",
            topic="frozen-base",  # not "model": it stays once the model is built again
        )
        return self.session.config.update(**{"arch.freeze_base": False})

    def _on_data(self, data: DataState) -> None:
        if data.status == "loading":
            self._slot.cancel()
            self.session.update("model", status="waiting", note="Waiting for the dataset…")
        elif data.status == "failed":
            self._slot.cancel()
            self.session.update(
                "model",
                status="failed",
                note="No dataset: choose one that loads to see the layers.",
                rows=(),
                trainable=0,
                total=0,
            )
        else:
            self.request()

    def _on_engine(self, engine: EngineState) -> None:
        if engine.ready and self.session.model.status == "building":
            self.session.update("model", note="Building the model…")

    def request(self) -> None:
        dataset = self.session.data.dataset
        if self.session.data.status != "ready" or dataset is None:
            return
        config = self.session.config.config
        note = "Building the model…" if self.session.engine.ready else "Waiting for the engine to load…"
        self.session.update("model", status="building", note=note)
        self._slot.start(
            model_jobs.inspect_model,
            self._inspector,
            config.arch,
            tuple(dataset.input_shape),
            int(dataset.num_classes),
            dict(config.layer_trainable),
            config.freeze_all_but,
            on_result=self._shown,
            on_error=self._failed,
        )

    def _shown(self, result: Inspection) -> None:
        self.session.clear_message("model")
        self.session.update(
            "model", status="ready", note="", rows=result.rows, trainable=result.trainable, total=result.total
        )
        if result.layer_trainable != self.session.config.config.layer_trainable:
            # Overrides naming layers this model does not have (options changed): forget them.
            self.session.config.update(layer_trainable=result.layer_trainable)

    def _failed(self, err: Any) -> None:
        text = str(err) or type(err).__name__
        self.session.update("model", status="failed", note=text, rows=(), trainable=0, total=0)
        # The Model tab may be hidden: say it where it is always seen too.
        self.session.say(f"Cannot build the model: {text}", "error", getattr(err, "details", ""), topic="model")

    def _render(self, state: ModelState) -> None:
        if state.status in ("waiting", "building"):
            self.view.show_building(state.note)
        elif state.status == "failed":
            self.view.show_error(state.note)
        else:
            self.view.show_inspection(state.rows, state.trainable, state.total)
