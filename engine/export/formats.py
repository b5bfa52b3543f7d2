"""One writer and one runner per export format, each through the format's own tools: Keras's
`model.save` and `model.export` (a SavedModel; LiteRT through TensorFlow's `TFLiteConverter`;
ONNX through tf2onnx), and for checking, the runtime that will run the file: Keras in safe mode,
TensorFlow's SavedModel loader, the LiteRT interpreter, onnxruntime.

Cheap to import: each function imports what it needs. `missing_packages(fmt)` says, without
importing anything, which optional packages (the `export` extra) a format still needs.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.runs.models import load_model_file

EXTRA_HINT = "pip install 'layerlab[export]' (or: .venv/bin/pip install -e '.[export]')"
MODEL_NAMES = {"keras": "model.keras", "savedmodel": "saved_model", "tflite": "model.tflite", "onnx": "model.onnx"}
# Python packages each format needs beyond TensorFlow and Keras: (import name, pip name).
NEEDS = {"onnx": (("tf2onnx", "tf2onnx"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime"))}
BATCH = 32

Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Written:
    path: Path  # the model file (or folder, for a SavedModel)
    run: Runner  # its own runtime: float32 pixels (N, H, W, C) -> probabilities (N, K)
    note: str = ""


def missing_packages(fmt: str) -> list[str]:
    """The pip names of the packages `fmt` needs that are not installed."""
    return [pip for module, pip in NEEDS.get(fmt, ()) if importlib.util.find_spec(module) is None]


def write(fmt: str, model: Any, folder: Path, *, quantize: str | None, calibration: np.ndarray) -> Written:
    """Write `model` into `folder` in `fmt`; return the file and a way to run it."""
    path = folder / MODEL_NAMES[fmt]
    if fmt == "keras":
        model.save(path)
        return Written(path, _keras_runner(path))
    graph = inference_graph(model)
    if fmt == "savedmodel":
        graph.export(str(path), format="tf_saved_model", verbose=False)
        return Written(path, _saved_model_runner(path))
    if fmt == "tflite":
        graph.export(str(path), format="litert", verbose=False, **_quantization(quantize, calibration))
        run, note = _litert_runner(path)
        return Written(path, run, note)
    with warnings.catch_warnings():  # tf2onnx's NumPy 2 shims warn about np.object and the like
        warnings.simplefilter("ignore", FutureWarning)
        graph.export(str(path), format="onnx", verbose=False)
    return Written(path, _onnx_runner(path))


def inference_graph(model: Any) -> Any:
    """`model` called with `training=False` once and for all, as a functional model sharing its
    weights: what the exporters must trace.

    Keras 3.15's SavedModel and ONNX exporters trace `model.__call__` without `training=False`;
    for a MobileNetV2 trained end to end, its batch normalisation then ran in training mode in the
    exported graph (batch statistics: 11 % top-1 agreement with the model). The verification
    caught it; this wrapper removes the doubt for every model.
    """
    # TensorFlow: imported here, so importing this module stays cheap
    import keras

    image = model.inputs[0]  # one input, not a list: the exported signature takes a plain tensor
    graph = keras.Model(image, model(image, training=False), name=f"{model.name}_inference")
    graph(np.zeros((1, *image.shape[1:]), np.float32))  # the ONNX exporter wants a model that ran once
    return graph


def _in_batches(x: np.ndarray, forward: Runner) -> np.ndarray:
    return np.concatenate([np.asarray(forward(x[i : i + BATCH]), np.float64) for i in range(0, len(x), BATCH)])


def _keras_runner(path: Path) -> Runner:

    loaded = load_model_file(path)  # what any user of the file gets: safe mode, checked archive
    return lambda x: _in_batches(x, lambda batch: loaded(batch, training=False))


def _saved_model_runner(path: Path) -> Runner:
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return lambda x: _in_batches(x, lambda batch: loaded.serve(tf.constant(batch)))


def _quantization(quantize: str | None, calibration: np.ndarray) -> dict[str, Any]:
    """TFLiteConverter settings: float16 weights, or full int8 (weights and activations,
    calibrated on training images; float32 input and output, so the preprocessing is unchanged)."""
    # TensorFlow: imported here, so importing this module stays cheap
    import tensorflow as tf

    if quantize == "float16":
        return {"optimizations": [tf.lite.Optimize.DEFAULT], "target_spec": {"supported_types": [tf.float16]}}
    if quantize == "int8":

        def representative() -> Any:
            for image in calibration:
                yield [image[None].astype(np.float32)]

        return {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": representative,
            "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
        }
    return {}


def _litert_runner(path: Path) -> tuple[Runner, str]:
    """The LiteRT interpreter (ai-edge-litert) when installed, else TensorFlow's bundled one."""
    note = ""
    try:
        from ai_edge_litert.interpreter import Interpreter  # an optional extra: imported when needed
    except ImportError:
        # TensorFlow: imported here, so importing this module stays cheap
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
        note = f"checked with TensorFlow's bundled TFLite interpreter; for the LiteRT runtime: {EXTRA_HINT}"
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]

    def run_one(image: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(source["index"], _to_input(image[None], source))
        interpreter.invoke()
        return _from_output(interpreter.get_tensor(target["index"]), target)[0]

    return (lambda x: np.stack([run_one(image) for image in np.asarray(x, np.float32)])), note


def _to_input(x: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """Float pixels as the interpreter's input tensor wants them (quantized when it is integer)."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind in "iu":
        scale, zero = detail["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _from_output(y: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    if np.dtype(detail["dtype"]).kind in "iu":
        scale, zero = detail["quantization"]
        return (y.astype(np.float64) - zero) * scale
    return y.astype(np.float64)


def _onnx_runner(path: Path) -> Runner:
    import onnxruntime  # an optional extra: imported when needed

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: _in_batches(x, lambda batch: session.run(None, {name: batch.astype(np.float32)})[0])


def size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
