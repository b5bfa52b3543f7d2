"""Classifying what the user drops, where the network looked, and pictures of the user's images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from engine import LayerLabError, open_image, prepare
from gui.engine_startup import load_engine
from gui.tasks import Task


def make_classifier(task: Task, model: Any, spec: Any, class_names: list[str], run_dir: str | None = None) -> Any:
    """A classifier for a model just trained, with its run's out-of-distribution model when it has one."""
    load_engine()
    from engine import Classifier  # TensorFlow: only in the worker, once the engine is loaded

    return Classifier.of_training(model, spec, class_names, run_dir)


@dataclass(frozen=True)
class Classified:
    """One classified image, or why it could not be; with where the network looked when asked."""

    ticket: int
    prediction: Any = None  # engine.Prediction
    error: str = ""
    overlay: Any = None  # engine.OverlayLayers: the original and the explanation, to blend at any opacity
    explained: str = ""  # how: "Grad-CAM on act_4", "saliency"


def classify(
    task: Task, ticket: int, classifier: Any, source: Any, top_k: int, threshold: float = 0.0, explain: bool = False
) -> Classified:
    try:
        prediction = classifier.classify(source, top_k=top_k, threshold=threshold or None)
    except LayerLabError as err:
        return Classified(ticket, error=str(err))
    if not explain:
        return Classified(ticket, prediction)
    overlay, how = explained_overlay(classifier, source)
    return Classified(ticket, prediction, overlay=overlay, explained=how)


def explained_overlay(classifier: Any, source: Any) -> tuple[Any, str]:
    """Where the network looked, laid onto the original image (`engine.OverlayLayers`), and how
    it was found."""
    from engine import explain, overlay_layers  # TensorFlow: only in the worker, with a classifier already made

    prepared = prepare(source, classifier.spec)
    explanation = explain(classifier, prepared)
    return overlay_layers(prepared.original, explanation.heatmap, placement=explanation.placement), explanation.how


def explain_overlay(task: Task, ticket: int, classifier: Any, source: Any) -> Classified:
    """Only the overlay, for an image classified before the toggle was on."""
    try:
        overlay, how = explained_overlay(classifier, source)
    except LayerLabError as err:
        return Classified(ticket, error=str(err))
    return Classified(ticket, overlay=overlay, explained=how)


@dataclass(frozen=True)
class LayerViews:
    """What each convolution of the network makes of one image, and its first layer's filters."""

    title: str
    maps: tuple[tuple[str, Any], ...]  # (layer, uint8 grid)
    filters: Any  # uint8 grid or None


def layer_views(task: Task, classifier: Any, source: Any, title: str) -> LayerViews:
    from engine import feature_maps, first_layer_filters  # TensorFlow: only in the worker

    maps = feature_maps(classifier, source)
    return LayerViews(title, tuple(maps), first_layer_filters(classifier.model))


def thumbnail(task: Task, source: Any, side: int) -> np.ndarray | None:
    """A user's image (path or bytes) decoded the one way LayerLab decodes images (EXIF
    orientation, modes, decompression bombs), shrunk to fit `side`; None if unreadable."""
    try:
        image = open_image(source, draft_size=(side * 2, side * 2))
    except LayerLabError:
        return None
    image.thumbnail((side, side))
    return np.asarray(image)


def thumbnails(task: Task, items: list[tuple[Any, Any]], side: int) -> None:
    """Decode each (key, source) and report (key, image or None) as soon as it is ready."""
    for key, source in items:
        task.check()
        task.report((key, thumbnail(task, source, side)))


def explained_thumbnails(task: Task, classifier: Any, items: list[tuple[Any, Any]], side: int) -> None:
    """Like `thumbnails`, with where the network looked drawn over each (files or stored arrays)."""
    load_engine()
    from engine import explain, overlay  # TensorFlow: only in the worker

    for key, source in items:
        task.check()
        try:
            if isinstance(source, np.ndarray):
                picture = overlay(source, explain(classifier, np.asarray(source, np.float32)).heatmap)
            else:
                layers, _ = explained_overlay(classifier, source)
                picture = layers.blend()
        except LayerLabError:
            picture = None
        if picture is not None and max(picture.shape[:2]) > side:
            image = Image.fromarray(picture)
            image.thumbnail((side, side))
            picture = np.asarray(image)
        task.report((key, picture))
