"""A finished training leaves no graph behind in TensorFlow's global gradient registry
(engine/runtime/graphs.py): the window and grids train again and again in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ExperimentConfig

pytest.importorskip("tensorflow")
from engine.runtime.graphs import CUSTOM_GRADIENT_PREFIX, _gradient_registry, forget_custom_gradients
from engine.training.trainer import train


def custom_gradients() -> set[str]:
    registry = _gradient_registry()
    assert registry is not None, "TensorFlow's gradient registry moved: graph_memory.py must follow it"
    return {name for name in registry if name.startswith(CUSTOM_GRADIENT_PREFIX)}


def test_a_training_leaves_no_custom_gradient_behind(tmp_path: Path) -> None:
    config = ExperimentConfig().updated(**{"data.limit": 100, "training.epochs": 1, "training.batch_size": 32})
    before = custom_gradients()
    result = train(config, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    assert custom_gradients() == before


def test_only_what_was_registered_within_is_forgotten() -> None:
    import tensorflow as tf

    @tf.custom_gradient
    def twice(x):
        return 2 * x, lambda dy: 2 * dy

    outside = tf.function(lambda x: twice(x))
    outside.get_concrete_function(tf.TensorSpec([], tf.float32))  # registers one, outside the block
    kept = custom_gradients()
    with forget_custom_gradients():
        tf.function(lambda x: twice(x)).get_concrete_function(tf.TensorSpec([], tf.float32))
        assert len(custom_gradients()) == len(kept) + 1
    assert custom_gradients() == kept
