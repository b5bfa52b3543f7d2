"""Hostile input through `layerlab-cli` as a user runs it: real processes under a memory limit and a
timeout. A refusal is a non-zero exit and exactly one line on stderr (TensorFlow's start-up
noise counts as a failure), never a traceback. Cases are batched (one `classify` takes many
images) and those refused before TensorFlow starts cost a fraction of a second each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import (
    OK,
    Case,
    digit_image,
    image_files,
    limit_memory,
    matches,
    npz_files,
    run_folders,
    special_files,
)

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 180


def cli(*args: str | Path, home: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    if home is not None:
        env["LAYERLAB_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *map(os.fsencode, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=TIMEOUT_S,
        preexec_fn=limit_memory,
    )


def stderr_lines(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    text = proc.stderr.decode("utf-8", errors="replace")
    assert "Traceback" not in text, text
    return text.splitlines()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli_corpus")


@pytest.fixture(scope="module")
def runs(corpus: Path) -> dict[str, Case]:
    pytest.importorskip("tensorflow")
    return {case.id: case for case in run_folders(corpus / "home" / "runs")}


def test_classify_many_bad_files_in_one_process(corpus: Path, runs: dict[str, Case]) -> None:
    """Families 1, 2, 3 and 7 in one `classify` call: each file gets its answer or its reason in
    the JSON, the process survives them all, stderr is exactly the one summary line."""
    cases = image_files(corpus / "images") + special_files(corpus / "special")
    proc = cli("classify", runs["run_good"].path, *[case.path for case in cases], "--json")
    assert proc.returncode == 0, proc.stderr
    failures = sum(case.expect != OK for case in cases)
    assert stderr_lines(proc) == [f"layerlab-cli: {failures} of {len(cases)} images could not be classified"]
    entries = json.loads(proc.stdout)
    assert [entry["path"] for entry in entries] == [os.fsdecode(case.path) for case in cases]
    wrong = []
    for case, entry in zip(cases, entries):
        if case.expect == OK and "top" not in entry:
            wrong.append(f"{case.id}: {entry}")
        elif case.expect != OK and not matches(case, entry.get("error", "")):
            wrong.append(f"{case.id}: expected {case.expect!r}, got {entry}")
    assert wrong == []


def test_classify_only_bad_files_is_one_line_and_exit_1(corpus: Path, runs: dict[str, Case]) -> None:
    bad = [case.path for case in special_files(corpus / "special_only") if case.expect != OK]
    proc = cli("classify", runs["run_good"].path, *bad)
    assert proc.returncode == 1
    assert stderr_lines(proc) == [f"layerlab-cli: {len(bad)} of {len(bad)} images could not be classified"]
    out = proc.stdout.decode("utf-8")  # non-UTF-8 names were made printable: this must decode
    assert "r\ufffdsum\ufffd.png: error:" in out and "named pipe" in out


@pytest.fixture(scope="module")
def npz(corpus: Path) -> dict[str, Case]:
    return {case.id: case for case in npz_files(corpus / "npz")}


@pytest.mark.parametrize(
    "name",
    [
        "header_93GiB.npz",
        "zip_bomb.npz",
        "label_gaps.npz",
        "pickled.npz",
        "pipe.npz",
        "single.npy",
        "truncated.npz",
        "short_data.npz",
        "nan.npz",
        "dev_zero_npz",
    ],
)
def test_train_on_a_bad_npz_is_one_line_before_tensorflow(corpus: Path, npz: dict[str, Case], name: str) -> None:
    """Families 1, 2 and 5: refused before anything is allocated and before TensorFlow starts."""
    case = npz[name]
    proc = cli("train", "--dataset", f"npz:{os.fsdecode(case.path)}", "--epochs", "1", "--out", corpus / "never")
    assert proc.returncode == 2
    [line] = stderr_lines(proc)
    assert line.startswith("layerlab-cli: error: ") and matches(case, line), line
    assert not (corpus / "never").exists()


def test_runs_lists_broken_runs_with_their_reason(corpus: Path, runs: dict[str, Case]) -> None:
    """Family 4: one broken run folder neither breaks nor hides the others."""
    proc = cli("runs", "--json", home=corpus / "home")
    assert proc.returncode == 0 and stderr_lines(proc) == []
    listed = {Path(entry["path"]).name: entry for entry in json.loads(proc.stdout)}
    assert set(listed) == {case.path.name for case in runs.values()}
    assert listed["good"]["problem"] is None and listed["good"]["val_accuracy"] == 0.4
    assert "history.json" in listed["history_broken"]["problem"] and "config.json" in listed["config_null"]["problem"]
    text = cli("runs", home=corpus / "home")
    assert text.returncode == 0 and b"BROKEN" in text.stdout and b"metrics_list" in text.stdout


@pytest.mark.parametrize(
    "name",
    [
        "run_config_null",
        "run_metrics_list",
        "run_preprocess_partial",
        "run_random_bytes_model",
        "run_h5_model",
        "run_savedmodel_dir",
        "run_lambda_model",
        "run_traversal",
        "run_model_zip_bomb",
        "run_spec_mismatch",
        "run_model_of_another_run",
    ],
)
def test_classify_with_a_broken_run_is_one_line(corpus: Path, runs: dict[str, Case], name: str) -> None:
    """Family 4 and model loading: LayerLab's words, never Keras's safe-mode advice."""
    image = corpus / "seven.png"
    digit_image().save(image)
    case = runs[name]
    proc = cli("classify", case.path, image)
    assert proc.returncode == 2
    [line] = stderr_lines(proc)
    assert matches(case, line) and "safe_mode" not in line, line
