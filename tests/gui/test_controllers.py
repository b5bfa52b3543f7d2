"""Controllers driven with fake views: no Qt widget, a real task runner, real trainings and models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from engine import ExperimentConfig
from tests.gui.conftest import TRAIN_TIMEOUT_MS
from tests.gui.fakes import FakeView


@pytest.fixture
def runner(qtbot: Any) -> Any:
    from gui.app import create_application
    from gui.tasks import TaskRunner

    create_application([])
    tasks = TaskRunner()
    yield tasks
    tasks.shutdown(wait_lanes=("training", "engine"), timeout=60)


def _ready_engine(session: Any) -> None:
    from gui.engine_startup import load_engine

    session.update("engine", status="ready", device=load_engine().device)


def _training_session(**changes: Any) -> Any:
    from gui.session import Session

    base = {
        "data.name": "digits",
        "data.limit": 200,
        "arch.name": "mlp",
        "training.epochs": 2,
        "training.batch_size": 32,
    }
    return Session(ExperimentConfig().updated(**{**base, **changes}))


def _curves(session: Any) -> tuple[Any, Any]:
    """The curves controller over a fake plots view."""
    from gui.controllers.curves import CurvesController, CurvesView

    view = FakeView(CurvesView)
    return CurvesController(session, view), view


def test_training_waits_for_the_engine_then_trains_and_leaves_a_classifier(runner, qtbot, tmp_path: Path) -> None:
    from gui.controllers.training import TrainingController, TrainingView

    session = _training_session()
    bar = FakeView(TrainingView)
    curves_controller, curves = _curves(session)
    controller = TrainingController(session, runner, bar, curves_controller, runs_root=tmp_path)
    results: list[Any] = []
    controller.finished.connect(results.append)
    controller.start()
    assert session.training.status == "waiting" and "engine" in session.training.text
    _ready_engine(session)
    qtbot.waitUntil(lambda: bool(results), timeout=TRAIN_TIMEOUT_MS)
    result = results[0]
    assert result.failed is None and not result.cancelled
    statuses = [state.status for (state,) in bar.named("show_training")]
    assert statuses[:3] == ["idle", "waiting", "preparing"] and "running" in statuses and statuses[-1] == "finished"
    fractions = [state.fraction for (state,) in bar.named("show_training") if state.status == "running"]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1.0
    shown = [state for (state,) in curves.named("show_curves")]
    assert shown[0].generation == 0 and not shown[0].epochs  # the empty curves, until the training started
    assert {state.planned for state in shown[1:]} == {2} and "Training <b>mlp</b>" in shown[-1].title
    assert len(session.curves.epochs) == 2 and len(curves.named("add_batch")) >= 2
    assert session.curves.best in (0, 1) and session.curves.num_classes == 10
    assert session.results.metrics is result.metrics and session.results.origin == "training"
    assert session.message.level == "success" and Path(result.run_dir).name in session.message.text
    assert "Finished" in session.training.text and session.training.fraction == 1.0
    qtbot.waitUntil(lambda: session.classifier.classifier is not None, timeout=30_000)
    assert session.classifier.description.startswith("Model: just trained — mlp on digits")
    assert session.classifier.name == f"run {Path(result.run_dir).name}" and session.results.run_dir == str(
        result.run_dir
    )
    assert (Path(result.run_dir) / "model.keras").is_file()


def test_stop_mid_training_keeps_the_run_and_says_stopped(runner, qtbot, tmp_path: Path) -> None:
    from engine import EpochEnd
    from gui.controllers.training import TrainingController, TrainingView

    session = _training_session(**{"training.epochs": 500})
    _ready_engine(session)
    bar = FakeView(TrainingView)
    controller = TrainingController(session, runner, bar, _curves(session)[0], runs_root=tmp_path)
    epochs: list[Any] = []
    results: list[Any] = []
    controller.event.connect(lambda event: isinstance(event, EpochEnd) and epochs.append(event))
    controller.finished.connect(results.append)
    controller.start()
    qtbot.waitUntil(lambda: bool(epochs), timeout=TRAIN_TIMEOUT_MS)
    controller.stop()
    assert session.training.status == "stopping"
    qtbot.waitUntil(lambda: bool(results), timeout=TRAIN_TIMEOUT_MS)
    assert results[0].cancelled and session.training.status == "stopped" and not session.training.running
    assert "Stopped" in session.message.text and (Path(results[0].run_dir) / "model.keras").is_file()
    assert "stopping" in [state.status for (state,) in bar.named("show_training")]


def test_stop_before_the_engine_is_ready_cancels_the_start(runner, qtbot) -> None:
    from gui.controllers.training import TrainingController, TrainingView
    from gui.session import Session

    session = Session()
    controller = TrainingController(session, runner, FakeView(TrainingView), _curves(session)[0])
    controller.start()
    controller.stop()
    assert session.training.status == "idle" and "Cancelled" in session.training.text
    session.update("engine", status="ready", device="CPU")  # nothing starts now
    assert session.training.status == "idle"


def _png(path: Path, value: int = 255) -> Path:
    pixels = np.zeros((32, 32), np.uint8)
    pixels[6:26, 14:18] = value
    Image.fromarray(pixels, "L").save(path)
    return path


def test_classify_waits_for_a_model_then_answers_each_image(runner, qtbot, trained_run: Path, tmp_path: Path) -> None:
    from engine import Classifier
    from gui.controllers.classify import ClassifyController, ClassifyView
    from gui.session import Session

    folder = tmp_path / "drawn"
    folder.mkdir()
    _png(folder / "a.png")
    _png(folder / "b.png", 200)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "empty").mkdir()
    session = Session()
    view = FakeView(ClassifyView)
    controller = ClassifyController(session, runner, view)
    tickets: list[int] = []
    controller.classified.connect(tickets.append)

    controller.classify_sources([str(folder), str(broken), str(tmp_path / "empty")])
    qtbot.waitUntil(lambda: len(view.named("add_card")) == 3, timeout=10_000)
    assert "no images in empty" in session.message.text and session.message.level == "warning"
    assert [Path(source).name for _, source in view.named("add_card")] == ["a.png", "b.png", "broken.png"]
    assert all(text == "waiting for the engine…" for _, text in view.named("set_status"))
    qtbot.waitUntil(lambda: len(view.named("set_original")) == 3, timeout=10_000)
    pictures = {ticket: image for ticket, image in view.named("set_original")}
    assert pictures[3] is None and pictures[1].shape[:2] == (32, 32)  # decoded off the UI thread, EXIF-aware

    _ready_engine(session)
    assert view.named("set_status")[-1][1] == "train or open a run first"
    classifier = Classifier.from_run(trained_run)
    session.update("classifier", classifier=classifier, status="ready", description="Model: a test run", name="run x")
    assert view.named("set_model_description")[-1] == ("Model: a test run",)
    qtbot.waitUntil(lambda: len(tickets) == 3, timeout=30_000)
    predictions = {ticket: prediction for ticket, prediction, _ in view.named("show_prediction")}
    assert {model for _, _, model in view.named("show_prediction")} == {"run x"}  # every answer names its model
    errors = dict(view.named("show_error"))
    assert set(predictions) == {1, 2} and set(errors) == {3}
    assert len(predictions[1].top) == session.preferences.value.top_k == 3
    assert "broken.png" in errors[3]


def test_a_failed_model_never_answers(runner, qtbot, trained_run: Path, tmp_path: Path) -> None:
    """Images sent to a model that is then replaced by 'no model' wait for the next one."""
    from engine import Classifier
    from gui.controllers.classify import ClassifyController, ClassifyView
    from gui.session import Session

    session = Session()
    _ready_engine(session)
    view = FakeView(ClassifyView)
    controller = ClassifyController(session, runner, view)
    controller.classify_sources([str(_png(tmp_path / f"d{i}.png")) for i in range(3)])
    qtbot.waitUntil(lambda: len(view.named("add_card")) == 3, timeout=10_000)
    session.update("classifier", classifier=None, status="failed", description="Run x cannot classify: Lambda layer")
    assert all(text == "train or open a run first" for _, text in view.named("set_status")[-3:])
    assert not view.named("show_prediction")
    session.update("classifier", classifier=Classifier.from_run(trained_run), status="ready", description="Model: ok")
    qtbot.waitUntil(lambda: len(view.named("show_prediction")) == 3, timeout=30_000)


def test_a_new_model_classifies_every_card_again_and_the_newest_wins(
    runner, qtbot, trained_run: Path, tmp_path: Path
) -> None:
    """No card keeps an answer under another model's name: a new model (trained, opened, resumed,
    forked) classifies every card again; two in a row, only the last one answers; no model at all
    leaves the cards visibly waiting, never showing the previous answers."""
    from engine import Classifier
    from gui.controllers.classify import ClassifyController, ClassifyView
    from gui.session import Session

    session = Session()
    _ready_engine(session)
    view = FakeView(ClassifyView)
    controller = ClassifyController(session, runner, view)
    models = {name: Classifier.from_run(trained_run) for name in ("run A", "run B", "run C")}

    def use(name: str) -> None:
        session.update("classifier", classifier=models[name], status="ready", description=name, name=name)

    use("run A")
    answered: list[int] = []
    controller.classified.connect(answered.append)
    controller.classify_sources([str(_png(tmp_path / f"d{i}.png")) for i in range(2)])
    qtbot.waitUntil(lambda: len(answered) == 2, timeout=30_000)
    assert {card.model for card in session.classify.cards} == {"run A"}

    use("run B")
    assert "classifying again with the new model…" in [text for _, text in view.named("set_status")]
    assert all(card.prediction is None for card in session.classify.cards)  # cleared at once, not kept
    use("run C")  # before B answered: B's answers are dropped, C's are shown
    before = len(view.named("show_prediction"))
    qtbot.waitUntil(lambda: all(card.status == "answered" for card in session.classify.cards), timeout=30_000)
    qtbot.waitUntil(lambda: runner.idle, timeout=30_000)
    assert {card.model for card in session.classify.cards} == {"run C"}
    assert {model for _, _, model in view.named("show_prediction")[before:]} == {"run C"}

    session.update("classifier", classifier=None, status="loading", description="Loading…", name="")
    assert all(card.prediction is None and card.text == "waiting for the model…" for card in session.classify.cards)
