"""Keep TensorFlow from holding every finished training's graphs for the life of the process, and
compile each model's forward pass once (`compiled_call`).

Keras's TensorFlow optimizer sums gradients through `ReplicaContext.all_reduce` (even under the
default strategy), which wraps them in `tf.custom_gradient`. In graph mode (every `fit`, which
traces a train step) `tf.custom_gradient` registers a gradient function under a fresh name
("CustomGradient-1152") in TensorFlow's global gradient registry and never removes it; that
function's closure holds the traced train step, so each training leaves its whole graph behind
(about 10 MB for the digits MLP, far more for a big network): a window that trains again and
again, or a grid of 20 runs, grows without bound. `keras.backend.clear_session()` does not help.

The registered functions are only looked up to differentiate *through* the all-reduce, which
nothing does once the train step is traced (the step takes its gradients before the
all-reduce), so forgetting the names a training registered once it is over is safe, also for a
model trained further later. Reaching the registry uses TensorFlow internals: if they move, this
does nothing (and the leak is back), it never fails a training.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _gradient_registry() -> dict[str, Any] | None:
    try:
        # TensorFlow: imported here, so importing this module stays cheap
        from tensorflow.python.framework import ops

        registry = ops.gradient_registry._registry
    except (ImportError, AttributeError):
        return None
    return registry if isinstance(registry, dict) else None


@contextlib.contextmanager
def forget_custom_gradients() -> Iterator[None]:
    """Within: train as usual. After: the custom-gradient functions registered within are
    forgotten, and with them the graphs they hold."""
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            for name in set(registry) - before:
                if name.startswith(CUSTOM_GRADIENT_PREFIX):
                    registry.pop(name, None)


# --- one compiled forward pass per model ---------------------------------------------------------------
def compiled_call(model: Any, *, cast_to_float: bool = False) -> Any:
    """`model(x, training=False)` compiled with `tf.function`, for passes over many batches.

    Traced once per model: the batch dimension of its input signature is None, so a last, smaller
    batch is no new trace (with a single-input model; others are traced once per batch shape).
    And a function of its own per model: TensorFlow counts the traces of every function made from
    one piece of Python code as one function's, so a `lambda` compiled anew for each model, which
    traces once each, read as "retracing" after five models (in a window that trains, opens runs
    and classifies, again and again) and printed a warning. `cast_to_float`: inputs of any dtype
    (uint8 images) are cast to float32 first."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    call = functools.partial(_cast_and_call if cast_to_float else _call, model)
    inputs = getattr(model, "inputs", None) or []
    if len(inputs) == 1 and not cast_to_float:
        signature = [tf.TensorSpec([None, *inputs[0].shape[1:]], tf.float32)]
        return tf.function(call, input_signature=signature)
    return tf.function(call, reduce_retracing=True)


def _call(model: Any, x: Any) -> Any:
    return model(x, training=False)


def _cast_and_call(model: Any, x: Any) -> Any:
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    return model(tf.cast(x, tf.float32), training=False)
