"""The engine's public API: every name a front end (the window, the CLI, a script) may use, by
section, and the module that defines it.

`import engine` stays cheap: `engine/__init__.py` reads this table and imports a name's module the
first time the name is used (`engine.train` loads TensorFlow; `engine.ExperimentConfig` does
not). docs/engine-api.md is generated from this table and the docstrings it points to
(`python3 dev.py api-docs`); a test fails when the file is out of date.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

#: (section title, what the section is for, [(public name, module, name in the module)])
SECTIONS: list[tuple[str, str, list[tuple[str, str, str]]]] = []


def _section(title: str, about: str, module_names: dict[str, list[str]]) -> None:
    entries = []
    for module, names in module_names.items():
        for name in names:
            public, _, inner = name.partition("=")
            entries.append((public, module, inner or public))
    SECTIONS.append((title, about, entries))


_section(
    "Experiment config",
    "One validated, serialisable object holding every user choice (cheap).",
    {
        "engine.config": [
            "ExperimentConfig",
            "DataOptions",
            "ArchOptions",
            "TrainingOptions",
            "Augmentation",
            "ACTIVATIONS",
            "OPTIMIZERS",
            "SCHEDULES",
            "RECIPES",
            "SCHEMA_VERSION",
            "planned_epochs",
            "with_total_epochs",
            "fork_changes",
        ]
    },
)
_section(
    "Errors",
    "Every refusal is a `LayerLabError` whose text is one line a person can act on (cheap).",
    {
        "engine.core.errors": [
            "LayerLabError",
            "ConfigError",
            "DatasetError",
            "ArchitectureError",
            "ImageError",
            "RunError",
            "ExportError",
        ]
    },
)
_section(
    "Cancellation, events and records",
    "Long work takes a `CancelToken` (and a training a `PauseToken`), raises `Cancelled` when "
    "stopped, and reports immutable events of plain numbers to an observer (cheap).",
    {
        "engine.core.cancel": ["CancelToken", "PauseToken", "Cancelled"],
        "engine.core.events": [
            "Event",
            "Observer",
            "Started",
            "Preparing",
            "BatchEnd",
            "EpochEnd",
            "StageChanged",
            "Paused",
            "Continued",
            "CheckpointSaved",
            "Resumed",
            "LrProbe",
            "Finished",
            "Failed",
        ],
        "engine.core.records": ["EpochRecord", "RunMetrics", "Misclassified", "ClassMetrics"],
    },
)
_section(
    "Files, memory and caches",
    "Safe paths and sizes for messages, the memory budget, and the disk caches (cheap).",
    {
        "engine.core.files": ["printable_path", "format_bytes"],
        "engine.core.memory": ["MemoryBudget"],
        "engine.caches.features": ["FeatureCache"],
        "engine.caches.folders": ["cache_root"],
        "engine.caches.usage": ["CacheUsage", "cache_usage", "clear_caches"],
    },
)
_section(
    "TensorFlow as a resource",
    "Starting TensorFlow without its chatter, the device, and who collects reference cycles.",
    {
        "engine.runtime.startup": ["import_tensorflow_quietly"],
        "engine.api": ["warm_up"],
        "engine.runtime.devices": ["device_name", "gpu_memory_mb"],
        "engine.runtime.collection": ["set_cycle_collector", "collect_cycles", "release_keras_state"],
    },
)
_section(
    "Images",
    "Decoding what a user drops, and preparing it for a model exactly as its training data was (cheap).",
    {
        "engine.images.decode": ["IMAGE_EXTENSIONS", "open_image"],
        "engine.images.spec": ["PreprocessSpec"],
        "engine.images.prepare": ["Prepared", "Placement", "prepare"],
    },
)
_section(
    "Datasets",
    "Datasets by name, and the user's decisions about single samples, kept beside the data (cheap).",
    {
        "engine.datasets": ["DatasetInfo", "list_datasets", "load_dataset", "dataset_key"],
        "engine.datasets.class_names": ["nameable", "load_class_names", "save_class_names", "names_sidecar"],
        "engine.datasets.decisions": [
            "LabelDecisions",
            "RowKey",
            "RecordedDecision",
            "load_decisions",
            "save_decisions",
            "record_decision",
        ],
    },
)
_section(
    "Architectures",
    "Presets by name (cheap to list); building one, its layer table and freezing (TensorFlow).",
    {
        "engine.architectures": ["ArchInfo", "list_architectures", "get_architecture", "build_model", "custom_objects"],
        "engine.architectures.registry": ["frozen_random_base"],
        "engine.architectures.inspection": ["Inspection", "ModelInspector"],
        "engine.architectures.layers": [
            "LayerInfo",
            "layer_table",
            "apply_freezing",
            "param_counts",
        ],
    },
)
_section(
    "Training",
    "One trainer for every task, going on with a run, the learning-rate finder (TensorFlow); what "
    "each task can do and a run's checkpoints (cheap).",
    {
        "engine.training.trainer": ["train", "TrainResult"],
        "engine.training.resume": ["resume_run", "continue_run", "fork_run"],
        "engine.training.lr_finder": ["find_learning_rate", "LrSweep"],
        "engine.training.augmentation": ["augmentation_preview=preview"],
        "engine.training.capabilities": ["task_supports"],
        "engine.training.recipes": ["apply_recipe", "recipe_changes", "describe_changes", "fast_presets"],
        "engine.training.metrics": ["per_class_metrics", "per_class_from_confusion"],
        "engine.runs.checkpoints": ["Checkpoint", "list_checkpoints", "latest_checkpoint"],
    },
)
_section(
    "Runs",
    "Run folders: listed, read and validated without TensorFlow; what a run's curves say.",
    {
        "engine.runs.folders": ["Run", "RunSummary", "default_runs_root", "list_runs", "load_run", "read_config"],
        "engine.runs.curves": ["CurveDiagnosis", "best_epoch", "diagnose", "chance_accuracy"],
        "engine.runs.keeping": ["KeepOffer", "KeepPlan", "keep_offer", "plan_keep"],
    },
)
_section(
    "Using a trained model",
    "Classifying, opening a run to classify with, reconstructing, the ImageNet networks (TensorFlow "
    "when a model runs).",
    {
        "engine.inference.classifier": [
            "Classifier",
            "Prediction",
            "OpenedRun",
            "open_run",
            "resolve_run",
            "NOT_SURE",
            "UNFAMILIAR",
        ],
        "engine.inference.ood": ["load_ood"],
        "engine.inference.reconstruction": ["Reconstructor", "Reconstruction", "add_noise", "reconstruct"],
        "engine.inference.imagenet": ["ImagenetClassifier", "missing_imagenet_files=missing_files"],
    },
)
_section(
    "Insight",
    "Why a model answers what it answers, and which labels look wrong.",
    {
        "engine.insight.explain": [
            "Explanation",
            "explain",
            "overlay",
            "overlay_layers",
            "OverlayLayers",
            "feature_maps",
            "first_layer_filters",
        ],
        "engine.insight.embedding": ["Embedding", "embed"],
        "engine.insight.label_issues": ["LabelIssue", "LabelIssueProgress", "find_label_issues"],
        "engine.insight.report": ["run_report", "report_text", "explain_images"],
    },
)
_section(
    "Experiments",
    "Runs side by side, and ablation grids of ordinary runs.",
    {
        "engine.experiments.compare": ["Comparison", "compare_runs"],
        "engine.experiments.run_list": ["RunLine", "describe_runs"],
        "engine.experiments.grid": [
            "Factor",
            "GridSpec",
            "GridRow",
            "GridResult",
            "GridRunStarted",
            "GridRunRetried",
            "GridInFlight",
            "GridRowUpdated",
            "GridFinished",
            "factor",
            "parse_vary",
            "check_spec",
            "grid_cells",
            "cell_config",
            "settings_label",
            "best_row",
            "load_grid",
            "ensure_same_grid",
            "default_grids_root",
        ],
        "engine.experiments.grid_files": ["grid_file"],
        "engine.experiments.grid_runner": ["run_grid"],
        "engine.experiments.executor_choice": ["grid_executor", "check_cluster_address", "ray_installed"],
        "engine.experiments.executors": [
            "Executor",
            "InProcess",
        ],
        "engine.experiments.ray_executor": ["RayExecutor"],
        "engine.experiments.settings": ["coerce_value", "format_value"],
    },
)
_section(
    "Export",
    "A run's model for other programs, verified against the Keras model.",
    {
        "engine.export.bundle": ["ExportReport", "export_run", "check_export", "MIN_AGREEMENT", "MIN_AGREEMENT_INT8"],
        "engine.export.formats": ["missing_export_packages=missing_packages"],
    },
)
_section(
    "Lessons",
    "The classic lessons as recipes run through the ordinary engine.",
    {
        "engine.lessons.catalogue": ["Lesson", "list_lessons", "get_lesson"],
        "engine.lessons.availability": ["lesson_available", "fallback_lesson"],
        "engine.lessons.runner": [
            "LessonResult",
            "LessonRow",
            "prepare_lesson",
            "run_lesson",
            "lesson_result",
            "lesson_recipe",
            "offers_fast_recipe",
        ],
    },
)

#: public name -> (module, name in the module)
API: dict[str, tuple[str, str]] = {
    public: (module, inner) for _, _, entries in SECTIONS for public, module, inner in entries
}


def resolve(name: str) -> Any:
    """The object behind a public name (imports its module)."""
    module, inner = API[name]
    return getattr(importlib.import_module(module), inner)


def warm_up() -> str:
    """Import TensorFlow and what a first training or classification needs (the trainer, the
    classifier, the layer table, the presets' builders, LayerLab's custom layers), and name the
    training device: what a front end does once, in the background, so that its first training
    starts at once. Not silenced (unlike `import_tensorflow_quietly`): a window's other threads
    keep their stderr."""
    import engine.architectures.layers
    import engine.architectures.scratch
    import engine.inference.classifier
    import engine.training.trainer  # noqa: F401  # TensorFlow: the point of this function
    from engine.architectures import custom_objects
    from engine.runtime.devices import device_name

    custom_objects()
    return device_name()


# --- the reference document ----------------------------------------------------------------------
def reference() -> str:
    """docs/engine-api.md: each section, each name with its signature and the first paragraph of
    its docstring."""
    lines = [
        "# The engine's public API",
        "",
        "<!-- Generated from engine/api.py by `python3 dev.py api-docs`; do not edit by hand. -->",
        "",
        "Front ends (the window, `layerlab-cli`, scripts) use only these names, all importable from "
        "`engine` itself (`from engine import train, ExperimentConfig`). `import engine` is cheap: a "
        "name's module is imported the first time the name is used, so TensorFlow loads only with "
        "the names that need it.",
        "",
    ]
    for title, about, entries in SECTIONS:
        lines += [f"## {title}", "", about, ""]
        for public, module, inner in entries:
            lines += _entry(public, module, inner)
        lines += _modules(dict.fromkeys(module for _, module, _ in entries))
    lines += ["## The command line", "", "`layerlab-cli` (`engine/cli/`), a front end of this API.", ""]
    lines += _modules(f"engine.cli.{name}" for name in CLI_MODULES)
    return "\n".join(lines).rstrip() + "\n"


#: The CLI's modules, in the order the reference shows them.
CLI_MODULES = ("main", "options", "train", "insight", "inventory", "experiments", "export", "lessons", "progress")


def _modules(names: Any) -> list[str]:
    """The docstrings of the modules behind a section: how they behave, in the code's own words."""
    lines: list[str] = []
    for name in names:
        doc = inspect.cleandoc(importlib.import_module(name).__doc__ or "")
        if doc:
            lines += [f"#### `{name}`", "", doc, ""]
    return lines


def _entry(public: str, module: str, inner: str) -> list[str]:
    obj = getattr(importlib.import_module(module), inner)
    where = f"`{module}.{inner}`" if inner != public else f"`{module}`"
    if inspect.isclass(obj) and hasattr(obj, "model_fields"):  # a pydantic model: its fields
        lines = [f"### `class {public}`", "", f"{where}. {_own_doc(obj)}".rstrip(), ""]
        for field_name, info in obj.model_fields.items():
            default = "required" if info.is_required() else f"default `{info.get_default(call_default_factory=True)!r}`"
            about = f": {info.description}" if info.description else ""
            lines.append(f"- `{field_name}`: `{_type_name(info.annotation)}`, {default}{about}")
        return [*lines, ""]
    if inspect.isclass(obj) or inspect.isfunction(obj):
        if inspect.isclass(obj):
            heading = f"### `class {public}{_class_signature(obj)}`"
        else:
            heading = f"### `{public}{_signature(obj)}`"
        return [heading, "", f"{where}. {_own_doc(obj)}".rstrip(), ""]
    return [f"### `{public}`", "", f"{where}: `{_short_repr(obj)}`", ""]


def _signature(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _class_signature(cls: type) -> str:
    if issubclass(cls, BaseException) or cls.__init__ is object.__init__:
        return ""
    signature = _signature(cls)
    return signature if len(signature) <= 300 else "(...)"


def _own_doc(obj: Any) -> str:
    """The first paragraph of the object's own docstring (not one inherited from a base class)."""
    return _first_paragraph(obj.__doc__ or "")


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _first_paragraph(doc: str) -> str:
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
