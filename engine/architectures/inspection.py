"""The layer table of the model a config describes, as a front end shows it while the user
chooses what to freeze. Cheap to import and to make; `inspect` builds the model (TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.architectures.registry import build_model
from engine.config import ArchOptions


@dataclass(frozen=True)
class Inspection:
    """What the layer table shows for one (architecture, input, classes) and freezing choice."""

    rows: tuple[Any, ...]  # engine.architectures.layers.LayerInfo
    trainable: int
    total: int
    layer_trainable: dict[str, bool]  # the overrides that still name a layer of this model


class ModelInspector:
    """The layer table of the model a config describes, frozen as training would freeze it.

    The last model built is reused while only the freezing changes (building a backbone takes
    seconds); asking for another architecture, input or class count frees it first. One per front
    end, used from one thread (its model is not shared with trainings).
    """

    def __init__(self) -> None:
        self._key = ""
        self._model: Any = None
        self._initial: dict[str, bool] = {}

    def inspect(
        self,
        arch: ArchOptions,
        input_shape: tuple[int, int, int],
        num_classes: int,
        layer_trainable: dict[str, bool],
        freeze_all_but: int | None,
    ) -> Inspection:
        # TensorFlow: the model is built here, so making an inspector stays cheap
        from engine.architectures.layers import apply_freezing, layer_table, param_counts

        key = f"{arch.model_dump_json()}|{tuple(input_shape)}|{num_classes}"
        if self._key != key:
            self._key, self._model = "", None  # free the old one before building the next (which may fail)
            model = build_model(arch, tuple(input_shape), num_classes)
            self._key, self._model = key, model
            self._initial = {layer.name: bool(layer.trainable) for layer in model.layers}
        model = self._model
        for layer in model.layers:
            layer.trainable = self._initial[layer.name]
        known = {name: value for name, value in layer_trainable.items() if name in self._initial}
        apply_freezing(model, known, freeze_all_but)
        trainable, frozen = param_counts(model)
        return Inspection(tuple(layer_table(model, arch.name)), trainable, trainable + frozen, known)
