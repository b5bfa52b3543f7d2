"""The window's state as data, Qt-free: the experiment config plus what happened at run time.

Views render it and send intent; controllers (gui/controllers) change it; nothing reads a
widget's value back as state. Ideas from napari's and ndv's evented models: every part of the
session is an immutable value, replaced whole and announced by a psygnal signal, so a view
always renders a consistent slice, and a test can drive a controller with no Qt widget at all.

Changes happen on the UI thread only (the task runner delivers results there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

from psygnal import Signal, SignalGroup
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine import ConfigError, ExperimentConfig

M = TypeVar("M", bound=BaseModel)


class EventedStore(Generic[M]):
    """A validated pydantic value changed by dotted keys; `changed` names the keys that changed.

    An invalid change is refused with a one-line reason (`rejected`), and `changed` is emitted
    with the keys anyway so that the widget that asked snaps back to the stored value.
    """

    changed = Signal(set)
    rejected = Signal(str)

    def __init__(self, value: M) -> None:
        self._value = value

    @property
    def value(self) -> M:
        """The current value; treat it as read-only (change it with `update`)."""
        return self._value

    def get(self, key: str) -> Any:
        return _get(self._value.model_dump(mode="json"), key)

    def snapshot(self) -> M:
        """An independent copy, e.g. for a worker thread."""
        return type(self._value).model_validate(self._value.model_dump(mode="json"))

    def update(self, **changes: Any) -> bool:
        """Apply dotted-key changes (`update(**{"training.epochs": 5})`); False when refused."""
        current = self._value.model_dump(mode="json")
        changed = {k for k, v in changes.items() if _get(current, k) != v}
        if not changed:
            return True
        try:
            self._value = _updated(self._value, {k: changes[k] for k in changed})
        except ConfigError as err:
            self.rejected.emit(str(err))
            self.changed.emit(set(changes))
            return False
        self.changed.emit(changed)
        return True

    def replace(self, value: M) -> None:
        """Swap the whole value (e.g. a run's config opened from disk)."""
        self._value = value
        self.changed.emit({"*"})


class ConfigStore(EventedStore[ExperimentConfig]):
    """The experiment config: what the user chose, what training will use."""

    @property
    def config(self) -> ExperimentConfig:
        return self.value


class FactorText(BaseModel):
    """One factor of a grid as the user typed it: a dotted config key and its values ("0, 0.5")."""

    model_config = ConfigDict(extra="forbid")
    key: str
    values: str


class GridPlan(BaseModel):
    """The grid set up in the Grid tab (factors × levels × repeats); validated by the engine at start."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    factors: list[FactorText] = Field(
        default_factory=lambda: [
            FactorText(key="arch.dropout", values="off, on"),
            FactorText(key="arch.batchnorm", values="off, on"),
        ]
    )
    repeats: int = Field(2, ge=1, le=20, description="runs per combination, with different seeds")


class Preferences(BaseModel):
    """Choices about the window, not the experiment (kept in the settings, not in runs)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    top_k: int = Field(3, ge=1, le=10, description="classes shown per classified image")
    threshold: float = Field(
        0.0, ge=0.0, le=1.0, description="below this top probability an answer is 'not sure' (0: off)"
    )
    explain: bool = Field(
        False, description="draw where the network looked (Grad-CAM or saliency) on classified images"
    )
    explain_opacity: float = Field(0.6, ge=0.1, le=1.0, description="opacity of that overlay where it is strongest")
    export_format: str = Field("keras", description="the format File → Export… offers first (the last one used)")
    export_quantize: str | None = Field(None, description="and its quantisation (TensorFlow Lite)")
    memory_budget_mb: int = Field(
        0,
        ge=0,
        le=1_048_576,
        description="memory the caches may use, MB (0: a quarter of the machine's memory, at most 4 GiB)",
    )
    grid_executor: Literal["local", "ray", "cluster"] = Field(
        "local",
        description="where a grid's runs train: this process, this machine in parallel (Ray), or a Ray cluster",
    )
    cluster_address: str = Field("", description="the Ray cluster's client address, ray://HOST:PORT")
    grid_workers: int = Field(0, ge=0, le=1024, description="runs at once on Ray (0: one per GPU, else per core)")

    @field_validator("cluster_address")
    @classmethod
    def _address(cls, address: str) -> str:
        from engine import ConfigError, check_cluster_address

        try:
            return check_cluster_address(address) if address.strip() else ""
        except ConfigError as err:
            raise ValueError(str(err)) from None

    def grid_where(self) -> tuple[str, int | None]:
        """What `engine.grid_executor` takes: "local", "ray" or the cluster's address, and the workers."""
        if self.grid_executor == "cluster" and not self.cluster_address:
            raise ConfigError("enter the Ray cluster's address (ray://HOST:PORT) under Where in the Grid tab")
        where = {"local": "local", "ray": "ray", "cluster": self.cluster_address}[self.grid_executor]
        return where, (self.grid_workers or None) if self.grid_executor != "local" else None


def memory_budget(preferences: Preferences) -> Any:
    """The engine's `MemoryBudget` for these preferences."""
    from engine import MemoryBudget

    mb = preferences.memory_budget_mb
    return MemoryBudget.from_megabytes(mb) if mb else MemoryBudget.default()


def _updated(value: M, changes: dict[str, Any]) -> M:
    if isinstance(value, ExperimentConfig):
        return value.updated(**changes)  # type: ignore[return-value]
    data = value.model_dump(mode="json")
    for key, new in changes.items():
        target = data
        *parents, leaf = key.split(".")
        for part in parents:
            target = target[part]
        target[leaf] = new
    try:
        return type(value).model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"invalid {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def _get(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return object()
        data = data[part]
    return data


def touches(keys: set[str], *prefixes: str) -> bool:
    """Whether any changed key is (under, or above) one of `prefixes`; "*" matches everything."""
    return "*" in keys or any(k == p or k.startswith(p + ".") or p.startswith(k + ".") for k in keys for p in prefixes)


# --- run-time state: one immutable value per workflow ------------------------------------------------
@dataclass(frozen=True)
class EngineState:
    status: str = "loading"  # loading | ready | failed
    device: str = ""
    seconds: float | None = None
    error: str = ""
    gpu_memory_mb: float | None = None

    @property
    def ready(self) -> bool:
        return self.status == "ready"


@dataclass(frozen=True)
class DataState:
    status: str = "empty"  # empty | loading | ready | failed
    name: str = ""  # the dataset's config name (digits, folder:PATH...)
    key: str | None = None  # identifies the exact dataset loaded (source, split, size, seed)
    dataset: Any = None  # engine.datasets.Dataset
    samples: dict[int, Any] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class ModelState:
    status: str = "waiting"  # waiting | building | ready | failed
    note: str = ""  # what it waits for, or the error
    rows: tuple[Any, ...] = ()  # engine.architectures.layers.LayerInfo
    trainable: int = 0
    total: int = 0


@dataclass(frozen=True)
class TrainingState:
    status: str = "idle"  # idle | waiting | preparing | extracting | running | pausing | paused | stopping |
    # finished | stopped | failed
    fraction: float = 0.0  # of all planned epochs
    text: str = "Ready"
    eta: str = ""
    epochs: int = 0  # planned, all stages
    stage_note: str = ""
    run_note: str = ""  # "run 3/8 · " while a grid trains its runs one after another
    feature_cache: bool | None = None
    cache_note: str = ""
    run_dir: str = ""
    tooltip: str = ""
    pausable: bool = False  # this job can hold after a batch (a training; not a grid or a label check)
    device: str = ""  # where the training runs, as the engine said when it started ("" before)

    @property
    def running(self) -> bool:
        return self.status in ("waiting", "preparing", "extracting", "running", "pausing", "paused", "stopping")


@dataclass(frozen=True)
class CurvesState:
    """The learning curves in the centre: of the training now, or of an opened run.

    Epoch figures, the best epoch and what they say (engine.diagnose) live here; the per-batch
    curve is a drawing stream handed to the view as it comes (far too many points to copy into a
    new value at every batch). `generation` changes when a new set of curves begins: the view
    then starts over; otherwise it draws the epochs it has not drawn yet."""

    generation: int = 0
    title: str = ""  # what the curves are of (rich text, one line)
    tooltip: str = ""
    summary: str = ""  # the last epoch's figures (rich text, one line)
    placeholder: str = "Train a model (Ctrl+Return) or open a run to see its learning curves here."
    planned: int = 0  # planned epochs, all stages (the x axis); 0: as many as there are
    epochs: tuple[Any, ...] = ()  # engine.EpochRecord, in order
    stages: tuple[tuple[int, str], ...] = ()  # (first epoch of the stage, 0-based; what changed)
    num_classes: int | None = None
    best: int | None = None  # epoch (0-based) of the lowest validation loss
    diagnosis: Any = None  # engine.CurveDiagnosis: overfitting, not learning, or None


@dataclass(frozen=True)
class ResultsState:
    """The final metrics shown in the Errors, Map and Labels tabs: of the training just done, or of
    an opened run, which `title` names."""

    metrics: Any = None  # engine.runs.folders.RunMetrics or None
    class_names: tuple[str, ...] = ()
    note: str = ""
    dataset: Any = None  # where validation images come from when the errors have no file
    origin: str = ""  # "training" | "run"
    run_dir: str = ""  # the run these results are of ("" while none)
    title: str = ""  # "run 20261124-101818-digits-mlp · mlp on digits"


@dataclass(frozen=True)
class ClassifierState:
    classifier: Any = None  # engine.inference.classifier.Classifier
    description: str = "No model yet — train one or open a run."
    status: str = "none"  # none | loading | ready | failed
    name: str = ""  # the model that answers, short ("run 20261124-101818-digits-mlp"); "" while none
    run_dir: str = ""  # its run folder ("" for the ImageNet networks)


@dataclass(frozen=True)
class Card:
    """One image dropped, pasted or opened to classify, and what became of it."""

    ticket: int
    source: Any  # a path (str) or image bytes
    status: str = "waiting"  # waiting | classifying | answered | failed
    text: str = "waiting…"  # what it waits for, or the error
    prediction: Any = None  # engine.Prediction of `model`
    model: str = ""  # the name of the model that answered (ClassifierState.name)
    overlay: Any = None  # where the network looked (an RGB array), when asked for
    explained: str = ""  # how the overlay was made (Grad-CAM, saliency)


@dataclass(frozen=True)
class ClassifyState:
    """The Classify tab's cards, newest last; an answer always names the model that gave it."""

    cards: tuple[Card, ...] = ()
    removed: int = 0  # older cards dropped to stay within the limit

    def card(self, ticket: int) -> Card | None:
        return next((card for card in self.cards if card.ticket == ticket), None)


@dataclass(frozen=True)
class RunsState:
    summaries: tuple[Any, ...] = ()  # engine.runs.folders.RunSummary
    lines: tuple[Any, ...] = ()  # engine.RunLine of each summary: what tells it apart
    selected: tuple[str, ...] = ()  # the runs selected in the Runs tab (paths)
    status: str = "idle"  # idle | listing | ready | failed
    problem: str = ""
    opened: Any = None  # engine.runs.folders.Run
    compared: Any = None  # gui.jobs.ComparedRuns while runs are compared side by side


@dataclass(frozen=True)
class GridState:
    """A grid of runs: which run is training, and one row per combination (mean ± std over repeats)."""

    status: str = "idle"  # idle | running | stopped | finished | failed
    grid_dir: str = ""
    total: int = 0  # planned runs (combinations × repeats)
    current: int = -1  # index of the run in view (its curves are the plots')
    settings: dict[str, Any] = field(default_factory=dict)  # of the run in view
    running: tuple[dict[str, Any], ...] = ()  # the settings of every run training now (several on Ray)
    where: str = ""  # where the runs train, in words ("" in this process)
    cells: tuple[dict[str, Any], ...] = ()  # every combination planned, in order
    rows: tuple[Any, ...] = ()  # engine.experiments.grid.GridRow of the combinations with finished runs


@dataclass(frozen=True)
class LessonState:
    """The lesson chosen from the Lessons menu (engine.lessons): its note, what it lacks offline,
    and, once run, the learner's figure beside the published one."""

    name: str = ""  # "": no lesson
    title: str = ""
    note: str = ""
    published: str = ""
    kind: str = ""  # train | grid | imagenet | autoencoder | two_stage
    status: str = "idle"  # idle | unavailable | ready | loading | running | finished | failed
    missing: str = ""  # what to download and where, when its files are not here
    fallback: str = ""  # digits | shapes: what it can run on instead ("": nothing)
    fallback_note: str = ""  # set up on the fallback: why the published figure does not apply
    figure: str = ""  # what the learner's run measured
    network: str = ""  # the ImageNet lesson's network
    kept_aside: bool = False  # the lesson set its own settings; the user's come back when it closes
    fast: bool = False  # it offers "run it fast" (its architecture has a fast recipe)
    recipe: str = "textbook"  # the recipe it is set up with: textbook | fast


@dataclass(frozen=True)
class AutoencoderState:
    """An autoencoder just trained: what reconstructs dropped images, and a few validation images
    as (original, noisy input, reconstruction), uint8 arrays."""

    status: str = "none"  # none | loading | ready | failed
    reconstructor: Any = None  # engine.inference.reconstruction.Reconstructor
    samples: tuple[tuple[Any, Any, Any], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Message:
    """The banner: one readable line; `topic` lets its workflow clear it once solved."""

    text: str = ""
    level: str = "info"  # info | success | warning | error
    details: str = ""
    topic: str = ""


class SessionEvents(SignalGroup):
    engine = Signal(object)
    data = Signal(object)
    model = Signal(object)
    training = Signal(object)
    curves = Signal(object)
    results = Signal(object)
    classifier = Signal(object)
    classify = Signal(object)
    runs = Signal(object)
    grid = Signal(object)
    lesson = Signal(object)
    autoencoder = Signal(object)
    message = Signal(object)
    status = Signal(str, int)  # a transient status-bar line, and how long it stays (ms, 0: until replaced)


class Session:
    """Everything one window knows, as data; `events.<part>` announces each new value."""

    PARTS = (
        "engine",
        "data",
        "model",
        "training",
        "curves",
        "results",
        "classifier",
        "classify",
        "runs",
        "grid",
        "lesson",
        "autoencoder",
        "message",
    )

    def __init__(self, config: ExperimentConfig | None = None, preferences: Preferences | None = None) -> None:
        self.config = ConfigStore(config or ExperimentConfig())
        self.preferences = EventedStore(preferences or Preferences())
        self.grid_plan = EventedStore(GridPlan())
        self.events = SessionEvents()
        self.engine = EngineState()
        self.data = DataState()
        self.model = ModelState()
        self.training = TrainingState()
        self.curves = CurvesState()
        self.results = ResultsState()
        self.classifier = ClassifierState()
        self.classify = ClassifyState()
        self.runs = RunsState()
        self.grid = GridState()
        self.lesson = LessonState()
        self.autoencoder = AutoencoderState()
        self.message = Message()

    def update(self, part: str, **changes: Any) -> Any:
        """Replace `part` by a copy with `changes`, announce it, and return it."""
        if part not in self.PARTS:
            raise KeyError(part)
        value = replace(getattr(self, part), **changes)
        setattr(self, part, value)
        getattr(self.events, part).emit(value)
        return value

    def say(self, text: str, level: str = "info", details: str = "", topic: str = "") -> None:
        """Show `text` in the banner."""
        self.update("message", text=text, level=level, details=details, topic=topic)

    def clear_message(self, topic: str | None = None) -> None:
        """Hide the banner (only if it is about `topic`, when given)."""
        if self.message.text and (topic is None or self.message.topic == topic):
            self.update("message", text="", level="info", details="", topic="")

    def status(self, text: str, milliseconds: int = 0) -> None:
        self.events.status.emit(text, milliseconds)

    def close(self) -> None:
        """Disconnect every listener (the window is closing)."""
        self.events.disconnect()
        for store in (self.config, self.preferences, self.grid_plan):
            store.changed.disconnect()
            store.rejected.disconnect()


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
