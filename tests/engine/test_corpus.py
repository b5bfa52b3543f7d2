"""Hostile input through the engine API: every case of the corpus (tests/corpus.py) is used normally or
refused with LayerLab's own one-line error, within a time and memory bound, without a NumPy
warning. One test per family; each lists every case that went wrong, not just the first."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import pytest

from engine.config import DataOptions
from engine.core.errors import LayerLabError
from engine.images.decode import open_image, to_array
from engine.images.prepare import preprocess
from engine.images.spec import PreprocessSpec
from tests.corpus import (
    BROKEN_IN_LISTING,
    OK,
    SKIPPED_IN_CLASS_FOLDER,
    Case,
    address_space_limit,
    class_folders,
    degenerate_data,
    digit_image,
    image_files,
    matches,
    npz_files,
    run_folders,
    special_files,
)

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # a NumPy warning is a failure too

SECONDS_PER_CASE = 10
DIGITS = PreprocessSpec(
    height=8,
    width=8,
    channels=1,
    polarity="light_on_dark",
    fit_content=True,
    class_names=tuple(str(d) for d in range(10)),
)
PHOTOS = PreprocessSpec(height=32, width=32, channels=3)


def outcome(use: Callable[[], Any]) -> str:
    """OK, LayerLab's message, or '!!! ...' for anything else (a crash, a hang, a foreign error)."""
    with ThreadPoolExecutor(1) as pool:  # a hang (a pipe opened for reading) fails the case, not the suite
        future = pool.submit(use)
        try:
            future.result(timeout=SECONDS_PER_CASE)
            return OK
        except LayerLabError as err:
            return str(err)
        except FutureTimeout:
            return f"!!! no answer within {SECONDS_PER_CASE} s"
        except BaseException as err:
            return f"!!! {type(err).__name__}: {err}"


def check(cases: list[Case], use: Callable[[Path], Any]) -> list[str]:
    wrong = []
    with address_space_limit():
        for case in cases:
            result = outcome(lambda: use(case.path))
            if (result != OK) if case.expect == OK else (result == OK or not matches(case, result)):
                wrong.append(f"{case.id}: expected {case.expect!r}, got {result!r}")
    return wrong


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus")


def test_images_decode_or_are_refused_by_name(corpus: Path) -> None:
    """Families 1, 3 and 7: odd but real images are used, every other file is refused in words;
    extreme aspect ratios never build a huge canvas; NaN floats are refused, not drawn black."""
    cases = image_files(corpus / "images")

    def use(path: Path) -> None:
        array = to_array(open_image(path), (32, 32), 3)
        assert array.shape == (32, 32, 3)
        for spec in (DIGITS, PHOTOS):
            assert preprocess(path, spec).shape == (spec.height, spec.width, spec.channels)

    assert check(cases, use) == []


def test_images_refusals_name_the_accepted_formats(corpus: Path) -> None:
    [eps] = [case for case in image_files(corpus / "formats") if case.path.name == "drawing.eps"]
    with pytest.raises(LayerLabError) as err:
        open_image(eps.path)
    assert "PNG, JPEG, GIF, BMP, TIFF, WebP" in str(err.value) and "drawing.eps" in str(err.value)


def test_special_files_are_refused_before_anything_reads_them(corpus: Path) -> None:
    """Family 2: pipes never block, /dev/zero is never read, links and folders are named."""
    cases = special_files(corpus / "special")
    assert check(cases, lambda path: preprocess(path, PHOTOS)) == []


def test_a_non_utf8_file_name_still_prints(corpus: Path) -> None:
    [case] = [c for c in special_files(corpus / "names") if c.id == "non_utf8_refused"]
    with pytest.raises(LayerLabError) as err:
        open_image(case.path)
    message = str(err.value)
    assert message.encode("utf-8").decode("utf-8") == message  # no lone surrogates: it prints anywhere
    assert "r\ufffdsum\ufffd.png" in message


def test_class_folders_list_every_file_they_skip(corpus: Path) -> None:
    """Family 2 inside a dataset: a pipe, a dangling link or a text file among the images is
    skipped with its reason (never silently, never blocking); a folder loop is not followed."""
    from engine.datasets import load_dataset

    cases = class_folders(corpus / "folders")
    assert check(cases, lambda path: load_dataset(DataOptions(name=f"folder:{path}", image_size=8))) == []
    mixed = load_dataset(DataOptions(name=f"folder:{cases[0].path}", image_size=8))
    skipped = {Path(path).name: reason for path, reason in mixed.skipped}
    assert set(skipped) == set(SKIPPED_IN_CLASS_FOLDER)
    for name, fragment in SKIPPED_IN_CLASS_FOLDER.items():
        assert fragment in skipped[name], skipped
    assert mixed.counts()["train"] + mixed.counts()["validation"] == 9  # 8 images and the non-UTF-8 one


def test_npz_files_are_checked_before_numpy_allocates(corpus: Path) -> None:
    """Families 1 and 5: a 93 GiB header, a 3 GiB zip bomb, pickles, label gaps... are refused
    naming the file, within 2 GiB of extra memory; unused members are never read."""
    from engine.datasets import load_dataset

    cases = npz_files(corpus / "npz")
    assert check(cases, lambda path: load_dataset(DataOptions(name=f"npz:{path}"))) == []


def test_npz_budget_message_names_array_file_and_limit(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.datasets import load_dataset

    [case] = [c for c in npz_files(corpus / "budget") if c.path.name == "good.npz"]
    monkeypatch.setenv("LAYERLAB_MAX_ARRAY_MB", "0.001")
    with pytest.raises(LayerLabError, match=r"x in good\.npz would need 1\.2 KiB .*LayerLab's limit is 1\.0 KiB"):
        load_dataset(DataOptions(name=f"npz:{case.path}"))


def test_degenerate_data_trains_or_is_refused(corpus: Path) -> None:
    """Family 5: nothing left to validate on still trains and saves (null, never NaN, in the
    files); label gaps are refused naming the labels."""
    import json

    pytest.importorskip("tensorflow")
    from engine.config import ExperimentConfig
    from engine.runs.folders import load_run
    from engine.training.trainer import train

    tiny, gaps = degenerate_data(corpus / "degenerate")
    config = ExperimentConfig().updated(
        **{"data.name": f"npz:{tiny.path}", "training.epochs": 2, "training.early_stopping": True}
    )
    events: list = []
    result = train(config, events.append, run_dir=corpus / "tiny_run")
    assert result.failed is None, result.failed
    assert "no validation data" in events[0].note and "early stopping is off" in events[0].note
    history = json.loads((corpus / "tiny_run" / "history.json").read_text())
    assert [entry["val_loss"] for entry in history] == [None, None] and history[0]["loss"] is not None
    metrics = json.loads((corpus / "tiny_run" / "metrics.json").read_text())
    assert metrics["val_count"] == 0 and metrics["val_accuracy"] is None and metrics["epochs_run"] == 2
    run = load_run(corpus / "tiny_run")
    assert run.load_model() is not None and run.history[1].val_accuracy is None
    refused = train(config.updated(**{"data.name": f"npz:{gaps.path}"}), run_dir=corpus / "gaps_run")
    assert refused.failed_kind == "data" and "0, 1, 2, 5000" in refused.failed


@pytest.fixture(scope="module")
def runs_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Case]]:
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("runs_corpus")
    return root, run_folders(root)


def test_run_folders_open_or_say_which_file_is_wrong(runs_corpus: tuple[Path, list[Case]], tmp_path: Path) -> None:
    """Family 4 and model loading: every broken run is a clear RunError (never a TensorFlow
    traceback, never Keras's safe-mode advice); healthy ones classify."""
    from engine.inference.classifier import Classifier

    _, cases = runs_corpus
    image = tmp_path / "seven.png"
    digit_image().save(image)

    def use(path: Path) -> None:
        Classifier.from_run(path).classify(image)

    wrong = check(cases, use)
    assert wrong == []
    for case in cases:
        if case.expect != OK:
            message = outcome(lambda: Classifier.from_run(case.path))
            assert "safe_mode" not in message and "Traceback" not in message, message


def test_broken_runs_are_listed_with_their_problem_and_hide_nothing(runs_corpus: tuple[Path, list[Case]]) -> None:
    from engine.runs.folders import list_runs

    root, cases = runs_corpus
    summaries = {summary.path.name: summary for summary in list_runs(root)}
    assert set(summaries) == {case.path.name for case in cases}  # every run, not_a_run left out
    for name, summary in summaries.items():
        if name in BROKEN_IN_LISTING:
            assert summary.problem and BROKEN_IN_LISTING[name] in summary.problem, (name, summary)
        else:
            assert summary.problem is None, (name, summary.problem)
    assert summaries["history_broken"].dataset == "digits" and summaries["history_broken"].epochs == 0
    assert summaries["good"].val_accuracy == 0.4 and summaries["good"].epochs == 1 and summaries["good"].has_model


def test_stale_temporaries_are_removed_and_fresh_ones_kept(runs_corpus: tuple[Path, list[Case]]) -> None:
    from engine.runs.folders import list_runs, load_run

    root, _ = runs_corpus
    list_runs(root)
    load_run(root / "stale_temporaries")
    names = sorted(os.listdir(root / "stale_temporaries"))
    assert names == [
        ".metrics.json.fresh123.json",
        "config.json",
        "history.json",
        "metrics.json",
        "model.keras",
        "preprocess.json",
    ]
