"""The session's evented stores and the one binding helper between config fields and widgets."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from engine.config import ExperimentConfig
from gui.session import ConfigStore, EventedStore, Preferences, Session


@pytest.fixture
def app(qtbot: Any) -> None:
    from gui.app import create_application

    create_application([])


def test_store_reports_changed_keys_and_refuses_invalid_values() -> None:
    store = ConfigStore(ExperimentConfig())
    changed: list[set[str]] = []
    rejected: list[str] = []
    store.changed.connect(changed.append)
    store.rejected.connect(rejected.append)
    assert store.update(**{"training.epochs": 5, "training.batch_size": 64})  # batch size unchanged
    assert changed == [{"training.epochs"}] and store.config.training.epochs == 5
    assert not store.update(**{"training.batch_size": 0})
    assert store.config.training.batch_size == 64 and "batch_size" in rejected[0]
    assert changed[-1] == {"training.batch_size"}  # the widget that asked snaps back
    copy = store.snapshot()
    assert copy == store.config and copy is not store.config


def test_session_parts_are_replaced_whole_and_announced() -> None:
    session = Session()
    seen: list[Any] = []
    session.events.data.connect(seen.append)
    before = session.data
    after = session.update("data", status="loading", name="digits")
    assert seen == [after] and before.status == "empty" and after.status == "loading"
    session.say("Dataset problem: x", "error", topic="data")
    session.clear_message("model")  # another topic: stays
    assert session.message.text
    session.clear_message("data")
    assert not session.message.text


def test_field_binding_works_both_ways_without_echo(app) -> None:
    from gui.binding import Binder

    store = ConfigStore(ExperimentConfig())
    binder = Binder(store)
    spin = QSpinBox()
    spin.setRange(0, 100000)
    binder.field(spin, "training.epochs")
    combo = QComboBox()
    combo.addItems(["rmsprop", "adam", "sgd"])
    binder.field(combo, "training.optimizer")
    percent = QSpinBox()
    percent.setRange(5, 85)
    binder.field(percent, "data.val_split", to_widget=lambda v: round(v * 100), from_widget=lambda v: v / 100)
    assert spin.value() == 10 and combo.currentText() == "adam" and percent.value() == 20
    changes: list[set[str]] = []
    store.changed.connect(changes.append)
    spin.setValue(7)  # an edit
    assert store.config.training.epochs == 7 and changes == [{"training.epochs"}]
    store.update(**{"training.epochs": 3, "data.val_split": 0.3})  # the store changes: widgets follow
    assert spin.value() == 3 and percent.value() == 30
    assert changes[-1] == {"training.epochs", "data.val_split"} and len(changes) == 2  # no echo back
    spin.setValue(0)  # refused by the config: the box snaps back
    assert store.config.training.epochs == 3 and spin.value() == 3


def test_optional_value_enable_rules_and_lock(app) -> None:
    from gui.binding import Binder

    store = ConfigStore(ExperimentConfig())
    binder = Binder(store)
    check, spin = QCheckBox(), QSpinBox()
    spin.setRange(10, 10_000)
    spin.setValue(500)
    binder.optional(check, spin, "data.limit")
    momentum = QDoubleSpinBox()
    binder.field(momentum, "training.momentum")
    binder.enable_when(momentum, lambda config: config.training.optimizer == "sgd")
    assert not check.isChecked() and not spin.isEnabled() and not momentum.isEnabled()
    check.setChecked(True)
    assert store.config.data.limit == 500 and spin.isEnabled()
    spin.setValue(200)
    assert store.config.data.limit == 200
    check.setChecked(False)
    assert store.config.data.limit is None and spin.value() == 200 and not spin.isEnabled()  # kept for next time
    store.update(**{"training.optimizer": "sgd"})
    assert momentum.isEnabled()
    binder.set_locked(True)
    assert not momentum.isEnabled() and not check.isEnabled()
    binder.set_locked(False)
    assert momentum.isEnabled() and check.isEnabled() and not spin.isEnabled()


def test_preferences_store_validates_too(app) -> None:
    store = EventedStore(Preferences())
    assert not store.update(top_k=0)
    assert store.value.top_k == 3
    assert store.update(top_k=5) and store.value.top_k == 5
