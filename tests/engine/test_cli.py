"""layerlab-cli: JSON output, classification, listings and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", "--dataset", "digits", "--arch", "mlp", "--epochs", "3", "--out", str(out), "--json"])
    assert code == 0
    return out


def test_train_json_has_the_promised_keys(run_dir: Path) -> None:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3 and metrics["val_accuracy"] > 0.8


def test_train_prints_one_json_object(capsys, tmp_path: Path) -> None:
    code, out, err = run_cli(
        capsys,
        "train",
        "--dataset",
        "digits",
        "--limit",
        "200",
        "--epochs",
        "1",
        "--no-dropout",
        "--batchnorm",
        "--activation",
        "tanh",
        "--optimizer",
        "sgd",
        "--out",
        str(tmp_path / "r"),
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    for key in ("val_accuracy", "val_loss", "train_accuracy", "train_loss", "epochs_run", "misclassified", "run_dir"):
        assert key in data
    assert data["epochs_run"] == 1 and data["run_dir"] == str(tmp_path / "r")
    assert "epoch 1/1" in err
    assert set(data) == {
        "val_accuracy",
        "val_loss",
        "train_accuracy",
        "train_loss",
        "epochs_run",
        "misclassified",
        "val_count",
        "stopped_early",
        "cancelled",
        "feature_cache",
        "run_dir",
        "skipped_files",
        "test_accuracy",
        "test_loss",
        "test_count",
        "test_is_validation",
        "evaluated_weights",
        "trainable_params",
        "seconds",
        "train_seconds",
        "reached_target",
        "recipe",
    }
    assert data["recipe"] == "textbook" and not data["reached_target"] and 0 < data["train_seconds"] < data["seconds"]
    assert data["test_accuracy"] is None and data["test_count"] == 0 and data["evaluated_weights"] == "last"


def test_classify_json_keeps_going_past_bad_files(capsys, run_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "seven.png"
    image = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(image).line([(10, 10), (54, 10), (30, 58)], fill=0, width=7)
    image.save(good)
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"%PDF-1.7 not an image")
    code, out, err = run_cli(
        capsys, "classify", str(run_dir), str(good), str(bad), str(tmp_path / "missing.png"), "--top", "2", "--json"
    )
    assert code == 0
    entries = json.loads(out)
    assert [e["path"] for e in entries] == [str(good), str(bad), str(tmp_path / "missing.png")]
    assert len(entries[0]["top"]) == 2 and {"label", "probability"} <= set(entries[0]["top"][0])
    assert "error" in entries[1] and "error" in entries[2]
    assert "2 of 3" in err


def test_classify_only_bad_files_exits_non_zero(capsys, run_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"junk")
    code, _, _ = run_cli(capsys, "classify", str(run_dir), str(bad))
    assert code != 0


def test_listings(capsys) -> None:
    code, out, _ = run_cli(capsys, "datasets", "--json")
    assert code == 0 and {"digits", "shapes", "mnist", "cifar10"} <= {d["name"] for d in json.loads(out)}
    code, out, _ = run_cli(capsys, "architectures", "--json")
    assert code == 0 and {"mlp", "naive_cnn", "bn_cnn", "cifar_cnn", "vgg16"} <= {a["name"] for a in json.loads(out)}


def test_summary_layer_table_with_freezing(capsys) -> None:
    code, out, _ = run_cli(capsys, "summary", "--dataset", "digits", "--arch", "mlp", "--freeze-all-but", "1", "--json")
    assert code == 0
    data = json.loads(out)
    trainable_rows = [row for row in data["layers"] if row["trainable"] and row["has_weights"]]
    assert len(trainable_rows) == 1 and data["non_trainable_params"] > 0


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--dataset", "nosuch"], "nosuch"),
        (["train", "--arch", "nosuch", "--epochs", "1"], "nosuch"),
        (["train", "--epochs", "0"], "epochs"),
        (["train", "--freeze", "ghost_layer", "--epochs", "1", "--limit", "100"], "ghost_layer"),
        (["train", "--dataset", "npz:/nonexistent.npz"], "nonexistent"),
        (["classify", "/nonexistent-run", "x.png"], "nonexistent-run"),
        (["summary", "--arch", "mlp", "--freeze", "nope"], "nope"),
        (["train", "--validation", "test", "--epochs", "1"], "digits has no test split to validate on"),
        (["train", "--test-split", "0.95", "--epochs", "1"], "test_split"),
    ],
)
def test_user_mistakes_exit_non_zero_with_one_line(capsys, args: list[str], fragment: str, tmp_path: Path) -> None:
    if args[0] == "train":
        args = args + ["--out", str(tmp_path / "r")]
    code = main(args)
    _out, err = capsys.readouterr()
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(("training on", "run folder"))]
    assert len(lines) == 1 and fragment in lines[0], err
    assert "Traceback" not in err


def test_console_script_has_no_traceback_on_a_bad_flag() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "train", "--optimizer", "adagrad"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") <= 1 and "adagrad" in proc.stderr


def test_offline_download_gives_one_clean_error_and_no_tensorflow_chatter(tmp_path: Path) -> None:
    """A real process, offline (proxy pointed at a closed port): stdout stays empty for the JSON
    reader, stderr says which file to fetch and where, without TensorFlow's start-up lines."""
    env = dict(
        os.environ,
        KERAS_HOME=str(tmp_path / "keras"),
        LAYERLAB_HOME=str(tmp_path / "home"),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "train", "--dataset", "mnist", "--epochs", "1", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("Downloading data from")]
    assert len(lines) == 1, proc.stderr
    assert "mnist.npz" in lines[0] and str(tmp_path / "keras") in lines[0] and "Traceback" not in proc.stderr


def test_options_choices_and_defaults_come_from_the_config() -> None:
    import argparse
    from typing import get_args

    from engine.cli.main import build_parser
    from engine.cli.options import config_from_args
    from engine.config import ACTIVATIONS, OPTIMIZERS, Augmentation, ExperimentConfig

    parse = build_parser().parse_args
    assert config_from_args(parse(["train"])) == ExperimentConfig()
    assert config_from_args(parse(["summary"])) == ExperimentConfig()
    assert config_from_args(parse(["train", "--arch", "bn_cnn"])).arch.batchnorm is True  # ArchInfo.defaults
    assert config_from_args(parse(["train", "--arch", "bn_cnn", "--no-batchnorm"])).arch.batchnorm is False
    assert config_from_args(parse(["train", "--batchnorm"])).arch.batchnorm is True
    config = config_from_args(
        parse(["train", "--dropout", "0.3", "--lr", "0.01", "--no-feature-cache", "--flip", "both"])
    )
    assert (config.arch.dropout, config.arch.dropout_rate, config.training.learning_rate) == (True, 0.3, 0.01)
    assert config.training.feature_cache is False and config.augmentation.flip == "both"
    assert config_from_args(parse(["train", "--no-dropout"])).arch.dropout is False
    data = config_from_args(parse(["train", "--test-split", "0.2", "--validation", "test"])).data
    assert (data.test_split, data.validation) == (0.2, "test")
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    actions = {a.dest: a for a in commands.choices["train"]._actions}
    assert tuple(actions["arch.activation"].choices) == ACTIVATIONS
    assert tuple(actions["training.optimizer"].choices) == OPTIMIZERS
    assert tuple(actions["augmentation.flip"].choices) == get_args(Augmentation.model_fields["flip"].annotation)
    assert "(default: 10)" in actions["training.epochs"].help


def test_unexpected_failures_are_one_line_too(capsys, monkeypatch, tmp_path: Path) -> None:
    import engine.cli.inventory as inventory

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(inventory, "cmd_datasets", broken)
    code = main(["datasets"])
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and "internal error: KeyError" in err and "Traceback" not in err
