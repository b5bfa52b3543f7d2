"""layerlab-cli's `train --resume`, `export` and `lr-find`, their JSON and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli_keep") / "run"
    code = main(
        [
            "train",
            "--dataset",
            "digits",
            "--arch",
            "mlp",
            "--epochs",
            "2",
            "--lr",
            "0.003",
            "--schedule",
            "cosine",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    return out


def test_train_takes_the_schedule_options(run_dir: Path) -> None:
    config = json.loads((run_dir / "config.json").read_text())
    assert config["training"]["schedule"] == "cosine" and config["training"]["deterministic"] is False
    history = json.loads((run_dir / "history.json").read_text())
    assert [e["learning_rate"] for e in history] == pytest.approx([0.003, 0.0015])


def test_resume_with_a_new_total_continues_the_run(capsys, run_dir: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    code, out, err = run_cli(capsys, "train", "--resume", str(run))
    assert code == 2 and "already has 2 complete epochs of the 2 planned" in err and err.count("\n") == 1
    code, out, err = run_cli(capsys, "train", "--resume", str(run), "--epochs", "3", "--json")
    assert code == 0, err
    assert "resuming at epoch 3/3: the 2 epochs before are kept" in err
    assert json.loads(out)["epochs_run"] == 3
    assert json.loads((run / "config.json").read_text())["training"]["epochs"] == 3


def test_resume_refusals_are_one_line(capsys, run_dir: Path, tmp_path: Path) -> None:
    code, _, err = run_cli(capsys, "train", "--resume", str(run_dir), "--lr", "0.1")
    assert code == 2 and "only --epochs TOTAL" in err and "training.learning_rate" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "train", "--resume", str(tmp_path))
    assert code == 2 and "not a LayerLab run" in err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text((run_dir / "config.json").read_text())
    code, _, err = run_cli(capsys, "train", "--resume", str(tmp_path / "empty"))
    assert code == 2 and "no checkpoint to resume from" in err


def test_export_prints_the_promised_json(capsys, run_dir: Path, tmp_path: Path) -> None:
    code, out, err = run_cli(
        capsys,
        "export",
        str(run_dir),
        "--format",
        "tflite",
        "--quantize",
        "float16",
        "--out",
        str(tmp_path / "lite"),
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert set(report) == {"path", "format", "agreement", "max_abs_diff", "size_bytes"}
    assert report["format"] == "tflite" and report["agreement"] >= 0.99
    assert (
        report["path"] == str(tmp_path / "lite" / "model.tflite")
        and Path(report["path"]).stat().st_size == report["size_bytes"]
    )
    code, out, err = run_cli(capsys, "export", str(run_dir), "--format", "keras", "--out", str(tmp_path / "k"))
    assert code == 0 and out.startswith("keras: ") and "agreement 100.0% on 200 images" in out


def test_export_refusals_are_one_line(capsys, run_dir: Path, tmp_path: Path) -> None:
    code, _, err = run_cli(
        capsys, "export", str(run_dir), "--format", "onnx", "--quantize", "int8", "--out", str(tmp_path / "x")
    )
    assert code == 2 and "tflite only" in err and err.count("\n") == 1
    code, _, err = run_cli(
        capsys, "export", str(tmp_path / "nowhere"), "--format", "keras", "--out", str(tmp_path / "x")
    )
    assert code == 2 and err.startswith("layerlab-cli: error:")
    code, _, err = run_cli(capsys, "export", str(run_dir), "--format", "keras", "--out", str(run_dir))
    assert code == 2 and "already exists" in err


def test_lr_find_prints_the_promised_json(capsys) -> None:
    code, out, err = run_cli(
        capsys,
        "lr-find",
        "--dataset",
        "digits",
        "--arch",
        "mlp",
        "--limit",
        "300",
        "--steps",
        "30",
        "--end",
        "1",
        "--json",
    )
    assert code == 0, err
    sweep = json.loads(out)
    assert set(sweep) == {"suggested_lr", "lrs", "losses"}
    assert len(sweep["lrs"]) == len(sweep["losses"]) <= 30 and sweep["lrs"][0] == pytest.approx(1e-7)
    assert sweep["lrs"][0] <= sweep["suggested_lr"] <= sweep["lrs"][-1]
    code, out, err = run_cli(
        capsys, "lr-find", "--dataset", "digits", "--arch", "mlp", "--limit", "300", "--steps", "3"
    )
    assert code == 2 and "--steps of at least 5" in err
