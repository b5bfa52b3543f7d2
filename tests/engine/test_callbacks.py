"""The training callback's per-batch figures, checked against a real Keras model batch by batch."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.cancel import CancelToken
from engine.core.events import BatchEnd

keras = pytest.importorskip("keras")
from engine.training import callbacks


def test_recent_loss_is_the_loss_of_the_batches_since_the_last_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a learning rate of 0 the weights stay put, so each batch's own loss is measurable."""
    monkeypatch.setattr(callbacks, "BATCH_EVENT_INTERVAL_S", 0.0)  # an event for every batch
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    y = rng.integers(0, 3, size=60)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy", metrics=["accuracy"])
    events: list[BatchEnd] = []
    callback = callbacks.EngineCallback(events.append, CancelToken(), steps=6, epochs=2, stage=0, t0=0.0)
    model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[callback])

    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert [(e.epoch, e.step) for e in batches] == [(epoch, step) for epoch in range(2) for step in range(6)]
    for event in batches:
        xb, yb = x[event.step * 10 : (event.step + 1) * 10], y[event.step * 10 : (event.step + 1) * 10]
        own_loss, own_accuracy = model.evaluate(xb, yb, verbose=0)
        assert event.recent_loss == pytest.approx(own_loss, rel=1e-4, abs=1e-5)
        assert event.recent_accuracy == pytest.approx(own_accuracy, abs=1e-5)
    last = batches[5]
    assert last.loss == pytest.approx(np.mean([e.recent_loss for e in batches[:6]]), rel=1e-4)
    # The running mean is not what a per-batch curve should show: here they differ by far.
    assert max(abs(e.recent_accuracy - e.accuracy) for e in batches) > 0.1
