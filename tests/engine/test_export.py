"""Export: each format round-trips a real tiny model, checked here again with the
format's own runtime; refusals are one sentence; a disagreeing export leaves nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.config import ExperimentConfig
from engine.core.errors import ExportError
from engine.export.bundle import check_export, export_run

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.runs.folders import load_run
from engine.training.trainer import train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "run"
    config = ExperimentConfig().updated(**{"arch.name": "mlp", "training.epochs": 3, "training.learning_rate": 3e-3})
    assert train(config, run_dir=folder).failed is None
    return folder


@pytest.fixture(scope="module")
def reference(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Validation images of the run and the Keras model's probabilities for them."""
    run = load_run(run_dir)
    dataset = load_dataset(run.config.data, seed=run.config.training.seed)
    x = dataset.x_val[:50].astype(np.float32)
    return x, np.asarray(run.load_model()(x))


def runtime_outputs(fmt: str, path: Path, x: np.ndarray) -> np.ndarray:
    """The export run by its own runtime, independently of engine.export.bundle."""
    if fmt == "keras":
        from engine.runs.models import load_model_file

        return np.asarray(load_model_file(path)(x))
    if fmt == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))  # kept alive while its function runs
        return np.asarray(loaded.serve(tf.constant(x)))
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: x})[0]
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(target["index"])


CASES = [
    ("keras", None, 1e-6),
    ("savedmodel", None, 1e-5),
    ("tflite", None, 1e-5),
    ("onnx", None, 1e-5),
    ("tflite", "float16", 5e-3),
    ("tflite", "int8", 0.1),
]


@pytest.mark.parametrize("fmt,quantize,tolerance", CASES, ids=[f"{f}-{q or 'float32'}" for f, q, _ in CASES])
def test_each_format_round_trips_with_its_agreement_reported(
    run_dir, reference, tmp_path, fmt, quantize, tolerance
) -> None:
    if fmt == "onnx":
        pytest.importorskip("tf2onnx", reason="the onnx export needs the 'export' extra (tf2onnx)")
        pytest.importorskip("onnxruntime", reason="the onnx check needs the 'export' extra (onnxruntime)")
    if fmt == "tflite":
        pytest.importorskip("ai_edge_litert", reason="the LiteRT check needs the 'export' extra (ai-edge-litert)")
    out = tmp_path / "export"
    report = export_run(run_dir, fmt, out, quantize=quantize)
    needed = 0.97 if quantize == "int8" else 0.99
    assert report.agreement >= needed and report.samples == 200 and report.note == ""
    assert 0 <= report.max_abs_diff <= tolerance
    model = Path(report.path)
    assert model.parent == out and model.exists()
    sizes = sum(p.stat().st_size for p in model.rglob("*") if p.is_file()) if model.is_dir() else model.stat().st_size
    assert report.size_bytes == sizes
    assert sorted(p.name for p in out.iterdir()) == sorted([model.name, "preprocess.json", "labels.txt", "README.txt"])
    assert (out / "labels.txt").read_text().split() == [str(d) for d in range(10)]
    assert json.loads((out / "preprocess.json").read_text())["height"] == 8
    assert "labels.txt" in (out / "README.txt").read_text()
    x, expected = reference
    got = runtime_outputs(fmt, model, x)
    assert np.abs(got - expected).max() <= tolerance
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).mean() >= needed
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left"


def test_requests_that_cannot_work_are_refused_before_anything_loads(run_dir, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown export format"):
        check_export(run_dir, "pickle", tmp_path / "a")
    with pytest.raises(ExportError, match="tflite only"):
        check_export(run_dir, "onnx", tmp_path / "a", quantize="int8")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep me")
    with pytest.raises(ExportError, match="already exists"):
        check_export(run_dir, "keras", tmp_path / "full")
    assert (tmp_path / "full" / "mine.txt").read_text() == "keep me"


def test_a_missing_converter_names_the_extra(run_dir, tmp_path: Path, monkeypatch) -> None:
    from engine.export import formats as export_formats

    monkeypatch.setitem(export_formats.NEEDS, "onnx", (("layerlab_not_installed", "tf2onnx"),))
    with pytest.raises(ExportError, match=r"needs tf2onnx, from the 'export' extra: pip install 'layerlab\[export\]'"):
        check_export(run_dir, "onnx", tmp_path / "a")


def test_an_export_that_disagrees_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    """An untrained CNN answers near-uniform probabilities: int8 quantization reorders them."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.savez(tmp_path / "digits.npz", x=(digits.images * 16).astype(np.uint8), y=digits.target)
    config = ExperimentConfig().updated(
        **{
            "data.name": f"npz:{tmp_path / 'digits.npz'}",
            "arch.name": "bn_cnn",
            "arch.batchnorm": True,
            "training.epochs": 1,
            "training.learning_rate": 1e-7,
        }
    )
    assert train(config, run_dir=tmp_path / "untrained").failed is None
    with pytest.raises(ExportError, match=r"agrees with the model on only .* \(it must on 97%"):
        export_run(tmp_path / "untrained", "tflite", tmp_path / "out", quantize="int8")
    assert not (tmp_path / "out").exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # Without its data the comparison says it used generated images (the float export still agrees).
    (tmp_path / "digits.npz").unlink()
    report = export_run(tmp_path / "untrained", "keras", tmp_path / "out")
    assert report.agreement == 1.0 and "generated images" in report.note and "digits.npz" in report.note
