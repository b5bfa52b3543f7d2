"""The work the window sends to background lanes: each job takes the `Task` handle first.

These are the only places in `gui` that call TensorFlow-bound engine code, and they import it
inside the function, in the worker thread, after `load_engine()`. Results are plain data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.config import ArchOptions, DataOptions, ExperimentConfig
from engine.core.cancel import Cancelled
from engine.core.errors import LayerLabError
from gui.engine_startup import EngineInfo, load_engine
from gui.tasks import Task

#: Datasets whose loading imports no TensorFlow: they load while the engine is still starting.
FAST_DATASETS = frozenset({"digits", "shapes"})


def start_engine(task: Task) -> EngineInfo:
    return load_engine()


# --- data -----------------------------------------------------------------------------------------
def dataset_key(data: DataOptions, seed: int) -> str:
    """Two configs with the same key load the very same dataset (same split, size, limit)."""
    return f"{data.model_dump_json()}|seed={seed}"


@dataclass(frozen=True)
class DatasetBundle:
    key: str
    dataset: Any
    samples: dict[int, Any]


def load_dataset(task: Task, data: DataOptions, seed: int, per_class: int, budget: Any = None) -> DatasetBundle:
    if data.name not in FAST_DATASETS:
        load_engine()
    from engine.datasets import load_dataset as load

    dataset = load(data, seed=seed, budget=budget)
    task.check()
    return DatasetBundle(dataset_key(data, seed), dataset, dataset.samples(per_class))


# --- the layer table --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inspection:
    """What the layer table shows for one (architecture, dataset) pair and freezing choice."""

    rows: tuple[Any, ...]  # engine.architectures.layers.LayerInfo
    trainable: int
    total: int
    layer_trainable: dict[str, bool]  # the overrides that still name a layer of this model


@dataclass
class _ModelCache:
    """The last built model, reused while only freezing changes (building a backbone takes seconds)."""

    key: str = ""
    model: Any = None
    initial: dict[str, bool] = field(default_factory=dict)


_MODEL_CACHE = _ModelCache()  # touched by the engine lane only (one thread)


def inspect_model(
    task: Task,
    arch: ArchOptions,
    input_shape: tuple[int, int, int],
    num_classes: int,
    layer_trainable: dict[str, bool],
    freeze_all_but: int | None,
) -> Inspection:
    """Build (or reuse) the model and apply the freezing choices, as training would."""
    load_engine()
    task.check()
    from engine.architectures import build_model
    from engine.architectures.layers import apply_freezing, layer_table, param_counts

    key = f"{arch.model_dump_json()}|{tuple(input_shape)}|{num_classes}"
    cache = _MODEL_CACHE
    if cache.key != key:
        cache.key, cache.model = "", None  # free the old one before building the next (which may fail)
        model = build_model(arch, tuple(input_shape), num_classes)
        cache.key, cache.model = key, model
        cache.initial = {layer.name: bool(layer.trainable) for layer in model.layers}
    model = cache.model
    for layer in model.layers:
        layer.trainable = cache.initial[layer.name]
    known = {name: value for name, value in layer_trainable.items() if name in cache.initial}
    apply_freezing(model, known, freeze_all_but)
    trainable, frozen = param_counts(model)
    return Inspection(tuple(layer_table(model, arch.name)), trainable, trainable + frozen, known)


# --- augmentation preview -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Preview:
    """Augmented copies of a few training images, for the preview grid."""

    originals: Any  # uint8 (N, H, W, C)
    copies: Any  # uint8 (N, K, H, W, C)
    labels: tuple[int, ...]


def preview(task: Task, images: Any, labels: list[int], augmentation: Any, copies: int, seed: int) -> Preview:
    load_engine()
    task.check()
    from engine.training.augmentation import preview as augmented

    return Preview(images, augmented(images, augmentation, copies, seed), tuple(labels))


# --- training -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resources:
    """What every training of a window shares: one feature cache, within one memory budget."""

    feature_cache: Any  # engine.caches.features.FeatureCache
    budget: Any  # engine.core.memory.MemoryBudget

    @property
    def train_kwargs(self) -> dict[str, Any]:
        return {"feature_cache": self.feature_cache, "memory_budget": self.budget}


def train(
    task: Task, config: ExperimentConfig, dataset: Any, runs_root: Path | None, resources: Resources, pause: Any = None
) -> Any:
    """One training; every engine event is reported to the UI thread as it happens. `pause`: an
    `engine.core.cancel.PauseToken` the window holds to pause and resume it."""
    load_engine()
    from engine.training.trainer import train as run_training

    return run_training(
        config,
        task.report,
        task.cancel_token,
        dataset=dataset,
        runs_root=runs_root,
        pause=pause,
        **resources.train_kwargs,
    )


#: Parts of the current config a fork never takes: the checkpoint's model was built for its own data and architecture.
FORK_KEEPS = ("data", "arch", "parent", "schema_version", "task", "init_from")


def fork_changes(run_config: ExperimentConfig, current: ExperimentConfig) -> dict[str, Any]:
    """The current settings that differ from a run's (dotted keys), but its data and architecture."""
    ours, theirs = current.model_dump(mode="json"), run_config.model_dump(mode="json")
    changes: dict[str, Any] = {}
    for key, value in ours.items():
        if key in FORK_KEEPS:
            continue
        if isinstance(value, dict) and key != "layer_trainable":
            changes.update({f"{key}.{k}": v for k, v in value.items() if theirs.get(key, {}).get(k) != v})
        elif theirs.get(key) != value:
            changes[key] = value
    return changes


def keep_training(
    task: Task,
    config: ExperimentConfig,
    dataset: Any,
    runs_root: Path | None,
    resources: Resources,
    how: str,
    run_dir: str,
    amount: int = 0,
    pause: Any = None,
) -> Any:
    """Go on with a saved run (engine.training.resume): `how` "resume" (from its last complete
    epoch), "continue" (`amount` more epochs, same folder) or "fork" (a new run from the checkpoint
    of epoch `amount`, 0-based, with the current settings that `fork_changes` finds)."""
    load_engine()
    from engine.runs.folders import read_config
    from engine.training.resume import continue_run, fork_run, resume_run

    run_config = read_config(Path(run_dir))
    changes = fork_changes(run_config, config) if how == "fork" else {}
    target = run_config.updated(**changes) if changes else run_config
    same = dataset is not None and dataset_key(target.data, target.training.seed) == dataset_key(
        config.data, config.training.seed
    )
    common = dict(
        observer=task.report,
        cancel=task.cancel_token,
        pause=pause,
        dataset=dataset if same else None,
        **resources.train_kwargs,
    )
    if how == "resume":
        return resume_run(run_dir, **common)
    if how == "continue":
        return continue_run(run_dir, amount, **common)
    return fork_run(run_dir, amount, changes, runs_root=runs_root, **common)


def checkpoints(task: Task, run_dir: str) -> tuple[str, list[int]]:
    """(run_dir, the 0-based epochs whose checkpoints the run keeps: the latest and the best)."""
    from engine.runs.checkpoints import list_checkpoints

    return run_dir, [checkpoint.epoch for checkpoint in list_checkpoints(run_dir)]


@dataclass(frozen=True)
class LrFound:
    sweep: Any  # engine.training.lr_finder.LrSweep, None when stopped
    arch: str


def find_lr(
    task: Task, config: ExperimentConfig, dataset: Any, runs_root: Path | None, resources: Resources, steps: int = 100
) -> LrFound:
    """The learning-rate finder on the current config; each `LrProbe` is reported as it comes."""
    load_engine()
    from engine.training.lr_finder import find_learning_rate

    try:
        sweep = find_learning_rate(config, dataset=dataset, steps=steps, observer=task.report, cancel=task.cancel_token)
    except Cancelled:
        sweep = None
    return LrFound(sweep, config.arch.name)


def export(task: Task, run_dir: str, fmt: str, out: str, quantize: str | None, samples: int = 200) -> Any:
    """A verified export (engine.export.bundle.ExportReport); `ExportError` when it fails or disagrees."""
    from engine.export.bundle import check_export as check

    check(run_dir, fmt, out, quantize)  # an extra that is missing says so before TensorFlow loads
    load_engine()
    from engine.export.bundle import export_run

    return export_run(run_dir, fmt, out, quantize=quantize, samples=samples, cancel=task.cancel_token)


def gpu_memory(task: Task) -> tuple[float | None]:
    """(MiB TensorFlow holds on the first GPU now,), (None,) on the CPU."""
    load_engine()
    from engine.runtime.devices import gpu_memory_mb

    return (gpu_memory_mb(),)


# --- classification -----------------------------------------------------------------------------------
def make_classifier(task: Task, model: Any, spec: Any, class_names: list[str], run_dir: str | None = None) -> Any:
    """A classifier for a model just trained, with its run's out-of-distribution model when it has one."""
    load_engine()
    from engine.inference.classifier import Classifier
    from engine.inference.ood import load_ood

    return Classifier(model, spec, class_names, ood=load_ood(Path(run_dir)) if run_dir else None)


@dataclass(frozen=True)
class Classified:
    """One classified image, or why it could not be; with where the network looked when asked."""

    ticket: int
    prediction: Any = None  # engine.inference.classifier.Prediction
    error: str = ""
    overlay: Any = None  # uint8 RGB: the original with the explanation's heat map
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
    """The original image with where the network looked drawn over it, and how it was found."""
    from engine.images.prepare import prepare
    from engine.insight.explain import explain, overlay

    prepared = prepare(source, classifier.spec)
    explanation = explain(classifier, prepared)
    how = (
        f"Grad-CAM on {explanation.layer}"
        if explanation.method == "gradcam"
        else "saliency (gradient of the class score)"
    )
    return overlay(prepared.original, explanation.heatmap, placement=explanation.placement), how


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
    from engine.insight.explain import feature_maps, first_layer_filters

    maps = feature_maps(classifier, source)
    return LayerViews(title, tuple(maps), first_layer_filters(classifier.model))


def thumbnail(task: Task, source: Any, side: int) -> np.ndarray | None:
    """A user's image (path or bytes) decoded the one way LayerLab decodes images (EXIF
    orientation, modes, decompression bombs), shrunk to fit `side`; None if unreadable."""
    from engine.images.decode import open_image

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


# --- runs ---------------------------------------------------------------------------------------------
def list_runs(task: Task, root: Path | None) -> list[Any]:
    from engine.runs.folders import list_runs as listing

    return listing(root)


def load_run(task: Task, path: str) -> Any:
    from engine.runs.folders import load_run as read

    return read(path)


@dataclass(frozen=True)
class OpenedRun:
    run: Any  # engine.runs.folders.Run
    classifier: Any  # engine.inference.classifier.Classifier or None when the run has no usable model
    problem: str = ""


def open_run(task: Task, path: str) -> OpenedRun:
    from engine.runs.folders import load_run as read

    run = read(path)
    if not os.path.lexists(run.model_path):  # anything else there (a folder, a pipe) the engine refuses by name
        return OpenedRun(run, None, "this run has no saved model (it failed or was stopped before saving)")
    load_engine()
    from engine.inference.classifier import Classifier

    try:
        return OpenedRun(run, Classifier.from_run(path))
    except LayerLabError as err:
        return OpenedRun(run, None, str(err))


def expand_sources(task: Task, raw: list[Any], limit: int) -> Any:
    """Dropped or pasted paths with folders replaced by their images (gui.dropping.Expanded)."""
    from gui.dropping import expand_sources as expand

    return expand(raw, limit, lambda: task.cancelled)


@dataclass(frozen=True)
class ComparedRuns:
    comparison: Any  # engine.experiments.compare.Comparison
    histories: tuple[Any, ...]  # each run's list[EpochRecord], in the same order


def compare_runs(task: Task, paths: list[str]) -> ComparedRuns:
    from engine.experiments.compare import compare_runs as compare
    from engine.runs.folders import load_run as read

    comparison = compare(paths)
    task.check()
    return ComparedRuns(comparison, tuple(read(path).history for path in paths))


def run_grid(
    task: Task,
    config: ExperimentConfig,
    dataset: Any,
    runs_root: Path | None,
    resources: Resources,
    spec: Any,
    grid_dir: str | None,
) -> Any:
    """A grid of ordinary runs, one after another; the runs' and the grid's events are reported."""
    load_engine()
    from engine.experiments.grid_runner import run_grid as run

    return run(
        spec,
        task.report,
        task.cancel_token,
        grid_dir=Path(grid_dir) if grid_dir else None,
        runs_root=runs_root,
        **resources.train_kwargs,
    )


# --- insight ------------------------------------------------------------------------------------------
def embed(task: Task, classifier: Any, dataset: Any, method: str) -> Any:
    """The validation images placed on a plane by the network's penultimate features."""
    load_engine()
    from engine.insight.embedding import embed as project

    return project(classifier, dataset, "validation", method, cancel=task.cancel_token)


def place_image(task: Task, classifier: Any, embedding: Any, ticket: int, network_input: Any) -> tuple[int, Any]:
    """(ticket, (x, y)) of a classified image on the map."""
    features = classifier.features(np.asarray(network_input, np.float32)[None])
    return ticket, embedding.project(features)[0]


@dataclass(frozen=True)
class ExplainedSample:
    """One validation image with the model's answer and where it looked."""

    index: int
    image: Any  # uint8, as stored
    overlay: Any  # uint8 RGB
    true: str
    predicted: str
    probability: float
    how: str


def explain_sample(task: Task, classifier: Any, image: Any, index: int, true: str) -> ExplainedSample:
    from engine.insight.explain import explain, overlay

    explanation = explain(classifier, np.asarray(image, np.float32))
    how = f"Grad-CAM on {explanation.layer}" if explanation.method == "gradcam" else "saliency"
    return ExplainedSample(
        index, image, overlay(image, explanation.heatmap), true, explanation.label, explanation.probability, how
    )


def find_label_issues(
    task: Task,
    config: ExperimentConfig,
    dataset: Any,
    runs_root: Path | None,
    resources: Resources,
    folds: int,
    epochs: int,
) -> Any:
    """Samples whose label is likely wrong, most likely first (None when stopped)."""
    load_engine()
    from engine.insight.label_issues import find_label_issues as find

    try:
        return find(
            config, folds=folds, epochs=epochs or None, cancel=task.cancel_token, observer=task.report, dataset=dataset
        )
    except Cancelled:
        return None


@dataclass(frozen=True)
class LabelDecisionSaved:
    key: Any
    action: str  # exclude | relabel | keep
    label: str
    excluded: int
    relabelled: int
    sidecar: str


def decide_label(task: Task, data: DataOptions, seed: int, key: Any, action: str, label: str) -> LabelDecisionSaved:
    """Record one decision beside the dataset (never touching the user's files)."""
    from engine.datasets.decisions import load_decisions, save_decisions

    decisions = load_decisions(data)
    decisions.seed = seed
    decisions.exclude.discard(key)
    decisions.relabel.pop(key, None)
    if action == "exclude":
        decisions.exclude.add(key)
    elif action == "relabel":
        decisions.relabel[key] = label
    path = save_decisions(data, decisions)
    return LabelDecisionSaved(key, action, label, len(decisions.exclude), len(decisions.relabel), str(path))


def explained_thumbnails(task: Task, classifier: Any, items: list[tuple[Any, Any]], side: int) -> None:
    """Like `thumbnails`, with where the network looked drawn over each (files or stored arrays)."""
    from engine.insight.explain import explain, overlay

    for key, source in items:
        task.check()
        try:
            if isinstance(source, np.ndarray):
                picture = overlay(source, explain(classifier, np.asarray(source, np.float32)).heatmap)
            else:
                picture, _ = explained_overlay(classifier, source)
        except LayerLabError:
            picture = None
        if picture is not None and max(picture.shape[:2]) > side:
            from PIL import Image

            image = Image.fromarray(picture)
            image.thumbnail((side, side))
            picture = np.asarray(image)
        task.report((key, picture))


def cache_usage(task: Task) -> list[Any]:
    from engine.caches.usage import cache_usage as usage

    return usage()


def clear_caches(task: Task) -> int:
    """Bytes freed (the caches only save work: everything is decoded or computed again when needed)."""
    from engine.caches.usage import clear_caches as clear

    return clear()


# --- lessons ------------------------------------------------------------------------------------------
def imagenet_classifier(task: Task, backbone: str) -> Any:
    """An ImageNet network as published, answering with its 1000 class names (files already in
    Keras's cache; `ArchitectureError` naming what to put where otherwise)."""
    load_engine()
    from engine.inference.imagenet import ImagenetClassifier

    return ImagenetClassifier(backbone)


def lesson_figure(task: Task, lesson: Any, result: Any) -> str:
    """What a lesson's run (a `TrainResult`) or grid (a `GridResult`) measured, in the words of
    `layerlab-cli lesson`, comparable to `lesson.published`."""
    from engine.lessons.runner import (
        _mean_figures,
        accuracy_figures,
        accuracy_text,
        autoencoder_figure,
        stage_rows,
        two_stage_figure,
    )

    validated_on_test = lesson.base_config.data.validation == "test"
    if hasattr(result, "rows") and hasattr(result, "spec"):  # a grid
        from engine.experiments.grid import settings_label

        parts = [
            f"{settings_label(row.settings)}: {accuracy_text(_mean_figures(row.run_dirs), validated_on_test)}"
            for row in result.rows
            if row.run_dirs
        ]
        return " | ".join(parts) or "no run finished"
    if getattr(result, "failed", None):
        return f"failed: {result.failed}"
    metrics = result.metrics
    if getattr(metrics, "reconstruction_error", None) is not None or lesson.kind == "autoencoder":
        return autoencoder_figure(metrics)
    run_dirs = [str(result.run_dir)] if result.run_dir else []
    if any(entry.stage == 2 for entry in result.history):
        return two_stage_figure(stage_rows(result.history, metrics, run_dirs))
    epochs = f"{metrics.epochs_run} epoch{'s' if metrics.epochs_run != 1 else ''}"
    return f"{accuracy_text(accuracy_figures(metrics), metrics.test_is_validation)} after {epochs}"


# --- autoencoders -------------------------------------------------------------------------------------
def _pixels(image: Any) -> np.ndarray:
    return np.clip(np.rint(np.asarray(image, np.float32)), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class AutoencoderView:
    reconstructor: Any  # engine.inference.reconstruction.Reconstructor
    samples: tuple[tuple[Any, Any, Any], ...]  # (original, noisy, reconstruction) uint8


def autoencoder_view(task: Task, model: Any, spec: Any, noise: float, images: Any, seed: int = 0) -> AutoencoderView:
    """A reconstructor for an autoencoder just trained, and `images` (validation images, 0..255)
    as originals, noisy inputs (the training's noise) and reconstructions."""
    load_engine()
    from engine.inference.reconstruction import Reconstructor

    reconstructor = Reconstructor(model, spec, noise=noise)
    images = np.asarray(images, np.float32)
    if not len(images):
        return AutoencoderView(reconstructor, ())
    noisy, reconstructed = reconstructor.reconstruct(images, seed=seed)
    return AutoencoderView(
        reconstructor, tuple((_pixels(o), _pixels(n), _pixels(r)) for o, n, r in zip(images, noisy, reconstructed))
    )


@dataclass(frozen=True)
class Reconstructed:
    """One dropped image through the autoencoder, or why not."""

    ticket: int
    original: Any = None  # uint8, the image at the network's input size
    noisy: Any = None
    reconstruction: Any = None
    error: float | None = None  # mean squared error (0..1 pixels) against the original
    problem: str = ""


def reconstruct_image(task: Task, ticket: int, reconstructor: Any, source: Any) -> Reconstructed:
    try:
        r = reconstructor.reconstruct_image(source)
    except LayerLabError as err:
        return Reconstructed(ticket, problem=str(err))
    return Reconstructed(ticket, _pixels(r.input), _pixels(r.noisy), _pixels(r.reconstructed), r.error)
