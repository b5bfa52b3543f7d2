"""Likely label errors (cross-validation + cleanlab) and the user's decisions, honoured by training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.config import ExperimentConfig
from engine.core.errors import DatasetError
from engine.datasets.decisions import (
    LabelDecisions,
    RowKey,
    honour_decisions,
    load_decisions,
    save_decisions,
    sidecar_path,
)

pytest.importorskip("tensorflow")
from engine.core.events import Started
from engine.datasets import load_dataset
from engine.insight.label_issues import LabelIssue, find_label_issues, rank_label_issues
from engine.training.trainer import train

FLIPS = 30


def noisy_digits(path: Path, flips: int = FLIPS, seed: int = 0) -> tuple[Path, dict[bytes, bool]]:
    """scikit-learn's digits with `flips` labels changed on purpose, as x, y in an .npz; and, per
    image (its bytes), whether its label was flipped."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.round(bunch.images * 255 / 16).astype(np.uint8)
    y = bunch.target.copy()
    rng = np.random.default_rng(seed)
    flipped = rng.choice(len(y), flips, replace=False)
    y[flipped] = (y[flipped] + rng.integers(1, 10, flips)) % 10
    np.savez(path, x=x, y=y)
    marked = set(flipped.tolist())
    return path, {x[i].tobytes(): i in marked for i in range(len(x))}


@pytest.mark.slow
def test_planted_label_flips_are_found_among_the_top_ranked(tmp_path: Path) -> None:
    data, flipped = noisy_digits(tmp_path / "noisy.npz")
    config = ExperimentConfig().updated(**{"data.name": f"npz:{data}", "training.batch_size": 32})
    progress: list = []
    issues = find_label_issues(config, folds=4, epochs=5, observer=progress.append)
    assert [p.fold for p in progress] == [1, 2, 3, 4]
    dataset = load_dataset(config.data, seed=0)
    found = [flipped[dataset.split(issue.split)[0][issue.index].tobytes()] for issue in issues[:60]]
    print(f"planted flips in the top 60: {sum(found)}/{FLIPS} ({len(issues)} flagged)")
    assert sum(found) >= 0.6 * FLIPS
    scores = [issue.score for issue in issues]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    top = issues[0]
    labels = dataset.split(top.split)[1]
    assert top.given == dataset.class_names[labels[top.index]] and top.suggested != top.given and top.source is None


def test_ranking_puts_confidently_contradicted_labels_first() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    probabilities = np.full((120, 3), 0.05)
    probabilities[np.arange(120), labels] = 0.9
    probabilities += rng.uniform(0, 0.02, probabilities.shape)
    wrong = [5, 50, 100]
    for i, other in zip(wrong, (1, 2, 0)):
        probabilities[i] = 0.02
        probabilities[i, other] = 0.96
    where = [("train", i) for i in range(120)]
    issues = rank_label_issues(labels, probabilities, ["a", "b", "c"], where)
    assert sorted(issue.index for issue in issues[:3]) == wrong
    assert issues[0] == LabelIssue(
        "train", issues[0].index, None, issues[0].given, issues[0].suggested, issues[0].score
    )
    assert {issue.suggested for issue in issues[:3]} == {"a", "b", "c"}


def test_cli_label_issues_json_keys(tmp_path: Path, capsys) -> None:
    data, _ = noisy_digits(tmp_path / "noisy.npz")
    code = main(
        ["label-issues", "--dataset", f"npz:{data}", "--limit", "400", "--epochs", "2", "--folds", "2", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    issues = json.loads(out)
    keys = {"split", "index", "source", "given", "suggested", "score", "array", "row"}
    assert issues and all(set(issue) == keys for issue in issues)
    assert all(issue["array"] == "x" and isinstance(issue["row"], int) for issue in issues)
    assert "fold 2/2" in err
    assert main(["label-issues", "--dataset", f"npz:{data}", "--folds", "1"]) == 2
    assert "folds" in capsys.readouterr().err


# --- decisions ------------------------------------------------------------------------------------------------
def test_sidecars_live_beside_the_data_or_in_layerlab_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAYERLAB_HOME", str(tmp_path / "home"))
    npz = ExperimentConfig().updated(**{"data.name": f"npz:{tmp_path / 'data.npz'}"}).data
    assert sidecar_path(npz) == tmp_path / "data.npz.layerlab-labels.json"
    digits = ExperimentConfig().data
    assert sidecar_path(digits) == tmp_path / "home" / "labels" / "digits.json"
    folder = ExperimentConfig().updated(**{"data.name": f"folder:{tmp_path / 'photos'}"}).data
    (tmp_path / "photos").mkdir()
    assert sidecar_path(folder) == tmp_path / "photos" / ".layerlab-labels.json"
    assert load_decisions(digits) == LabelDecisions()
    decisions = LabelDecisions({("train", 3), ("validation", 1)}, {("train", 7): "4"}, seed=2)
    path = save_decisions(digits, decisions)
    assert path.is_file() and load_decisions(digits) == decisions
    stored = json.loads(path.read_text())
    assert stored["split"] == {"val_split": 0.2, "limit": None, "seed": 2}
    folder_decisions = LabelDecisions(
        {str(tmp_path / "photos" / "cat" / "a.png")}, {str(tmp_path / "photos" / "dog" / "b.png"): "cat"}
    )
    path = save_decisions(folder, folder_decisions)
    stored = json.loads(path.read_text())
    assert stored["exclude"] == [{"path": "cat/a.png"}] and stored["relabel"] == [{"path": "dog/b.png", "label": "cat"}]
    assert load_decisions(folder) == folder_decisions
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="layerlab-labels.json"):
        load_decisions(folder)


def test_training_honours_decisions_by_position(tmp_path: Path) -> None:
    config = ExperimentConfig().updated(**{"data.limit": 300, "training.epochs": 2, "training.batch_size": 32})
    dataset = load_dataset(config.data, seed=0)
    relabel = {("train", i): dataset.class_names[(int(dataset.y_train[i]) + 1) % 10] for i in (10, 11, 12)}
    save_decisions(
        config.data, LabelDecisions({("train", i) for i in range(5)} | {("validation", 0), ("validation", 1)}, relabel)
    )
    events: list = []
    result = train(config, events.append, dataset=dataset, run_dir=tmp_path / "run")
    assert result.failed is None, result.failed
    started = next(e for e in events if isinstance(e, Started))
    assert "7 samples excluded, 3 relabelled" in started.note
    assert len(dataset.y_train) == 300, "the caller's dataset is left as it was"
    assert len(result.dataset.y_train) == 295 and len(result.dataset.y_val) == len(dataset.y_val) - 2
    for i in (10, 11, 12):
        assert result.dataset.y_train[i - 5] == (dataset.y_train[i] + 1) % 10
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["excluded_samples"] == 7 and saved["relabelled_samples"] == 3
    # Misclassified samples still point into the validation split as loaded.
    for wrong in saved["misclassified"]:
        assert wrong["index"] >= 2 and dataset.class_names[dataset.y_val[wrong["index"]]] == wrong["true"]
    from sklearn.datasets import load_digits

    rows = np.round(load_digits().images * 255 / 16).astype(np.uint8)
    for wrong in saved["misclassified"]:  # and name the row of scikit-learn's digits they are
        assert wrong["array"] == "x" and np.array_equal(rows[wrong["row"]], dataset.x_val[wrong["index"]][..., 0])
    other_seed = honour_decisions(dataset, config.updated(**{"training.seed": 5}))
    assert other_seed.excluded == 0 and "another split" in other_seed.note


def test_folder_decisions_follow_the_files(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for name, value in (("bright", 220), ("dark", 30)):
        (root / name).mkdir(parents=True)
        for i in range(10):
            Image.new("L", (16, 16), value + i).save(root / name / f"{i}.png")
    config = ExperimentConfig().updated(**{"data.name": f"folder:{root}", "data.image_size": 16})
    dataset = load_dataset(config.data, seed=0)
    assert sorted(dataset.train_sources + dataset.val_sources) == sorted(str(p) for p in root.rglob("*.png"))
    save_decisions(
        config.data,
        LabelDecisions(
            {str(root / "dark" / "0.png"), str(root / "dark" / "1.png")}, {str(root / "bright" / "2.png"): "dark"}
        ),
    )
    applied = honour_decisions(dataset, config)
    assert applied.excluded == 2 and applied.relabelled == 1
    sources = applied.dataset.train_sources + applied.dataset.val_sources
    labels = np.concatenate([applied.dataset.y_train, applied.dataset.y_val])
    assert str(root / "dark" / "0.png") not in sources and len(sources) == 18
    assert labels[sources.index(str(root / "bright" / "2.png"))] == applied.dataset.class_names.index("dark")
    assert sorted(p.name for p in root.iterdir()) == [".layerlab-labels.json", "bright", "dark"]


def test_a_damaged_sidecar_fails_training_with_its_name(tmp_path: Path) -> None:
    config = ExperimentConfig().updated(**{"data.limit": 100, "training.epochs": 1})
    path = sidecar_path(config.data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"format": "something else"}')
    result = train(config, run_dir=tmp_path / "run")
    assert result.failed_kind == "data" and "digits.json" in result.failed


def two_kinds(path: Path, flipped: dict[str, list[int]]) -> Path:
    """An .npz of two kinds of image no model can confuse (dark and bright squares with noise),
    in x_train/y_train and x_test/y_test, with the labels of the `flipped` rows of each swapped."""
    rng = np.random.default_rng(1)
    arrays = {}
    for array, count in (("train", 240), ("test", 60)):
        y = rng.integers(0, 2, count)
        x = np.clip(rng.normal(60 + 130 * y[:, None, None], 12, (count, 8, 8)), 0, 255).astype(np.uint8)
        y[flipped[f"x_{array}"]] = 1 - y[flipped[f"x_{array}"]]
        arrays[f"x_{array}"], arrays[f"y_{array}"] = x, y
    np.savez(path, **arrays)
    return path


def test_label_issues_name_the_rows_of_the_users_file_whatever_the_split(tmp_path: Path, capsys) -> None:
    planted = {"x_train": [3, 50, 77, 120, 200, 231], "x_test": [5, 41]}
    data = two_kinds(tmp_path / "kinds.npz", planted)
    args = ["label-issues", "--dataset", f"npz:{data}", "--epochs", "20", "--folds", "2", "--lr", "0.01"]
    assert main([*args, "--seed", "3", "--json"]) == 0
    issues = json.loads(capsys.readouterr().out)
    found = {(issue["array"], issue["row"]) for issue in issues[:8]}
    assert found == {(array, row) for array, rows in planted.items() for row in rows}
    with np.load(data) as file:  # the row is the user's: its label there is the flipped one
        for issue in issues[:8]:
            assert issue["given"] == str(int(file["y" + issue["array"][1:]][issue["row"]]))
    by_index = [(issue["split"], issue["index"]) for issue in issues[:8] if issue["array"] == "x_train"]
    assert sum(index not in planted["x_train"] for _, index in by_index) >= 4, "the split was shuffled"
    assert main([*args, "--seed", "4", "--top", "8"]) == 0  # another split, the same rows named
    text = capsys.readouterr().out
    assert all(f"x_train[{row}]" in text for row in planted["x_train"])


def test_decisions_keyed_by_row_survive_another_seed_and_old_ones_still_apply(tmp_path: Path) -> None:
    data = two_kinds(tmp_path / "kinds.npz", {"x_train": [], "x_test": []})
    config = ExperimentConfig().updated(**{"data.name": f"npz:{data}"})
    with np.load(data) as file:
        other = str(1 - int(file["y_train"][9]))
    decisions = LabelDecisions({RowKey("x_train", 7), RowKey("x_test", 2)}, {RowKey("x_train", 9): other}, seed=0)
    path = save_decisions(config.data, decisions)
    stored = json.loads(path.read_text())
    assert {"array": "x_train", "row": 7} in stored["exclude"] and stored["relabel"] == [
        {"array": "x_train", "row": 9, "label": other}
    ]
    assert load_decisions(config.data) == decisions
    for seed in (0, 5):
        seeded = config.updated(**{"training.seed": seed})
        dataset = load_dataset(seeded.data, seed=seed)
        applied = honour_decisions(dataset, seeded)
        assert applied.excluded == 2 and applied.relabelled == 1 and "another split" not in applied.note
        kept = applied.dataset
        rows = {
            kept.rows(split).at(i)
            for split in ("train", "validation", "test")
            for i in range(len(kept.split(split)[1]))
        }
        assert ("x_train", 7) not in rows and ("x_test", 2) not in rows and len(rows) == 298
        where = next(
            (split, i)
            for split in ("train", "validation")
            for i in range(len(kept.split(split)[1]))
            if kept.rows(split).at(i) == ("x_train", 9)
        )
        assert kept.split(where[0])[1][where[1]] == int(other)
    # Decisions saved by (split, index) before rows existed: applied under their own split only.
    save_decisions(config.data, LabelDecisions({("train", 0), ("train", 1)}, seed=0))
    assert honour_decisions(load_dataset(config.data, seed=0), config).excluded == 2
    other = config.updated(**{"training.seed": 5})
    assert "another split" in honour_decisions(load_dataset(other.data, seed=5), other).note


def test_rows_follow_every_reshaping_of_the_splits(tmp_path: Path) -> None:
    data = two_kinds(tmp_path / "kinds.npz", {"x_train": [], "x_test": []})
    with np.load(data) as file:
        arrays = {key: file[key] for key in file.files}
    for changes in (
        {"data.limit": 100},
        {"data.validation": "test"},
        {"data.name": f"npz:{tmp_path / 'x.npz'}", "data.test_split": 0.25},
    ):
        np.savez(tmp_path / "x.npz", x=arrays["x_train"], y=arrays["y_train"])
        options = ExperimentConfig().updated(**({"data.name": f"npz:{data}"} | changes)).data
        dataset = load_dataset(options, seed=2)
        for split in ("train", "validation", "test"):
            if split == "test" and dataset.x_test is None:
                continue
            x, _ = dataset.split(split)
            rows = dataset.rows(split)
            for i in range(0, len(x), 7):
                array, row = rows.at(i)
                source = arrays["x_train" if array == "x" else array]
                assert np.array_equal(x[i][..., 0], source[row]), (changes, split, i)
