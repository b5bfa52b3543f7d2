"""Per-class figures, the out-of-distribution verdict, the confidence threshold, the embedding
and the CLI's report/classify/explain, on a real MLP trained on the embedded digits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.config import ExperimentConfig
from engine.core.errors import ConfigError, RunError
from engine.training.metrics import per_class_from_confusion, per_class_metrics, top_confusions

pytest.importorskip("tensorflow")
from engine.inference.classifier import NOT_SURE, UNFAMILIAR, Classifier
from engine.inference.ood import OOD_FILE, load_ood
from engine.training.trainer import train
from tests.engine.test_inference import paper_copy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    from engine.datasets import load_dataset

    config = ExperimentConfig().updated(**{"training.epochs": 10, "training.batch_size": 32})
    dataset = load_dataset(config.data, seed=0)
    run_dir = tmp_path_factory.mktemp("trust") / "run"
    result = train(config, dataset=dataset, run_dir=run_dir)
    assert result.failed is None, result.failed
    return result, dataset, run_dir, Classifier.from_run(run_dir)


# --- per-class metrics -------------------------------------------------------------------------------------
def test_per_class_metrics_equal_scikit_learn() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 3, 200))
    y_pred[y_pred == 3] = 0  # class 3 never predicted
    rows = per_class_metrics(y_true, y_pred, ["a", "b", "c", "d"])
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=[0, 1, 2, 3], zero_division=0)
    assert [row.name for row in rows] == ["a", "b", "c", "d"]
    np.testing.assert_allclose([row.precision for row in rows], p)
    np.testing.assert_allclose([row.recall for row in rows], r)
    np.testing.assert_allclose([row.f1 for row in rows], f)
    assert [row.support for row in rows] == list(s) and rows[3].precision == 0.0
    from sklearn.metrics import confusion_matrix

    assert per_class_from_confusion(confusion_matrix(y_true, y_pred, labels=[0, 1, 2, 3]), "abcd") == per_class_metrics(
        y_true, y_pred, "abcd"
    )


def test_top_confusions_are_the_largest_off_diagonal_cells() -> None:
    matrix = [[9, 3, 0], [1, 8, 5], [0, 3, 7]]
    assert top_confusions(matrix, ["a", "b", "c"], k=3) == [("b", "c", 5), ("a", "b", 3), ("c", "b", 3)]
    assert top_confusions([[4, 0], [0, 4]], ["a", "b"]) == []


def test_metrics_json_holds_the_final_models_per_class_figures(digits_run) -> None:
    from sklearn.metrics import precision_recall_fscore_support

    _result, dataset, run_dir, classifier = digits_run
    saved = json.loads((run_dir / "metrics.json").read_text())
    predicted = classifier.probabilities(dataset.x_val.astype(np.float32)).argmax(axis=1)
    p, r, f, s = precision_recall_fscore_support(dataset.y_val, predicted, labels=list(range(10)), zero_division=0)
    assert [row["name"] for row in saved["per_class"]] == dataset.class_names
    np.testing.assert_allclose([row["precision"] for row in saved["per_class"]], p, atol=1e-9)
    np.testing.assert_allclose([row["recall"] for row in saved["per_class"]], r, atol=1e-9)
    np.testing.assert_allclose([row["f1"] for row in saved["per_class"]], f, atol=1e-9)
    assert [row["support"] for row in saved["per_class"]] == list(s)
    assert saved["test_per_class"] == [] and saved["excluded_samples"] == 0


# --- when not to trust an answer --------------------------------------------------------------------------
def test_unfamiliar_inputs_are_flagged_and_digits_pass(digits_run, tmp_path: Path) -> None:
    from sklearn.datasets import load_sample_images

    _, dataset, run_dir, classifier = digits_run
    assert (run_dir / OOD_FILE).is_file() and classifier.ood is not None
    for i, digit in enumerate(dataset.x_val[:40]):  # the validation digits, as files of their own size
        Image.fromarray(digit[..., 0], "L").save(tmp_path / f"val{i}.png")
    scores, _ = classifier.unfamiliarity([tmp_path / f"val{i}.png" for i in range(40)])
    assert (scores <= 1.0).mean() >= 0.9
    copies = [
        classifier.classify(paper_copy(digit, tmp_path / f"copy{i}.png")) for i, digit in enumerate(dataset.x_val[:20])
    ]
    assert sum(p.familiar for p in copies) >= 17, "photographed digits should look like the training data"
    rng = np.random.default_rng(0)
    noise = []
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"noise{i}.png")
        noise.append(classifier.classify(tmp_path / f"noise{i}.png"))
    assert all(p.familiar is False and p.verdict == UNFAMILIAR for p in noise)
    assert all(p.ood_score > 1.0 for p in noise)
    photos = load_sample_images().images  # two real photographs (a temple, a flower)
    flagged = 0
    for i in range(10):
        photo = photos[i % 2]
        side = int(rng.integers(150, 400))
        y, x = int(rng.integers(0, photo.shape[0] - side)), int(rng.integers(0, photo.shape[1] - side))
        Image.fromarray(photo[y : y + side, x : x + side]).save(tmp_path / f"photo{i}.png")
        flagged += classifier.classify(tmp_path / f"photo{i}.png").familiar is False
    assert flagged >= 9, f"only {flagged} of 10 photo crops were called unfamiliar"


def test_a_threshold_turns_low_confidence_answers_into_not_sure(digits_run, tmp_path: Path) -> None:
    _, dataset, _, classifier = digits_run
    probabilities = classifier.probabilities(dataset.x_val.astype(np.float32))
    familiar = classifier.ood.familiar(classifier.features(dataset.x_val.astype(np.float32)))
    # The least sure answer among digits that look familiar (unfamiliar ones are said first).
    least = int(np.argmin(np.where(familiar, probabilities.max(axis=1), np.inf)))
    path = tmp_path / "unsure.png"
    Image.fromarray(dataset.x_val[least][..., 0], "L").save(path)
    prediction = classifier.classify(path)
    top = prediction.top[0][1]
    assert top < 0.999
    assert classifier.classify(path, threshold=min(1.0, top + 1e-3)).verdict == NOT_SURE
    assert classifier.classify(path, threshold=top - 1e-3).verdict == prediction.top[0][0]
    assert prediction.verdict == prediction.top[0][0]  # no threshold: the answer


def test_the_ood_file_is_checked_and_never_unpickled(digits_run, tmp_path: Path) -> None:
    _, _, run_dir, classifier = digits_run
    loaded = load_ood(run_dir)
    np.testing.assert_array_equal(loaded.features.means, classifier.ood.features.means)
    assert loaded.lines == classifier.ood.lines
    assert load_ood(tmp_path) is None
    (tmp_path / OOD_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(RunError, match="ood.npz"):
        load_ood(tmp_path)
    np.savez(
        tmp_path / OOD_FILE,
        means=np.array([{"evil": 1}], dtype=object),
        precision=np.eye(2),
        threshold=1.0,
        percentile=99.0,
        method="mahalanobis",
    )
    with pytest.raises(RunError, match="ood.npz"):
        load_ood(tmp_path)
    np.savez(
        tmp_path / OOD_FILE,
        means=np.zeros((2, 3)),
        precision=np.eye(2),
        threshold=1.0,
        percentile=99.0,
        method="mahalanobis",
    )
    with pytest.raises(RunError, match="valid"):
        load_ood(tmp_path)


# --- the embedding ----------------------------------------------------------------------------------------
def test_embedding_projects_validation_and_dropped_images(digits_run) -> None:
    from engine.insight.embedding import embed

    _, dataset, _, classifier = digits_run
    embedding = embed(classifier, dataset, "validation", "pca")
    assert embedding.points.shape == (len(dataset.y_val), 2) and embedding.method == "pca"
    np.testing.assert_array_equal(embedding.labels, dataset.y_val)
    assert (embedding.predicted == embedding.labels).mean() > 0.9
    np.testing.assert_array_equal(embedding.indices, np.arange(len(dataset.y_val)))
    star = embedding.project(classifier.features(dataset.x_val[:1].astype(np.float32)))
    np.testing.assert_allclose(star, embedding.points[:1], atol=1e-3)
    # Points of a class sit together: each class's centre is nearer its own points than others'.
    centres = np.stack([embedding.points[embedding.labels == c].mean(axis=0) for c in range(10)])
    nearest = np.linalg.norm(embedding.points[:, None] - centres[None], axis=-1).argmin(axis=1)
    assert (nearest == embedding.labels).mean() > 0.4
    tsne = embed(classifier, dataset, "validation", "tsne", max_points=120)
    assert tsne.points.shape == (120, 2) and len(set(tsne.labels.tolist())) == 10
    with pytest.raises(ConfigError, match="t-SNE"):
        tsne.project(classifier.features(dataset.x_val[:1].astype(np.float32)))
    with pytest.raises(ConfigError, match="choose one of"):
        embed(classifier, dataset, "validation", "lda")


def test_umap_without_its_package_says_how_to_install_it(digits_run) -> None:
    pytest.importorskip("sklearn")
    try:
        import umap  # noqa: F401

        pytest.skip("umap-learn is installed")
    except ImportError:
        pass
    from engine.insight.embedding import embed

    _, dataset, _, classifier = digits_run
    with pytest.raises(ConfigError, match=r"umap-learn.*layerlab\[insight\]"):
        embed(classifier, dataset, "validation", "umap")


# --- the CLI ------------------------------------------------------------------------------------------------
def test_cli_report_json_and_text(digits_run, capsys) -> None:
    _, _dataset, run_dir, _ = digits_run
    assert main(["report", str(run_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"per_class", "test_per_class", "top_confusions", "val_accuracy"} <= set(report)
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert report["per_class"] == saved["per_class"]
    for pair in report["top_confusions"]:
        assert set(pair) == {"true", "predicted", "count"} and pair["true"] != pair["predicted"]
    assert main(["report", str(run_dir)]) == 0
    text = capsys.readouterr().out
    assert "precision" in text and "recall" in text
    assert main(["report", str(run_dir.parent / "nowhere")]) == 2


def test_cli_explain_writes_overlays_and_json(digits_run, capsys, tmp_path: Path) -> None:
    _, dataset, run_dir, _ = digits_run
    image = paper_copy(dataset.x_val[0], tmp_path / "digit.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"junk")
    code = main(["explain", str(run_dir), str(image), str(bad), "--out", str(tmp_path / "out"), "--json"])
    assert code == 0
    entries = json.loads(capsys.readouterr().out)
    assert set(entries[0]) == {"path", "label", "probability", "overlay", "peak"}
    assert set(entries[1]) == {"path", "error"}
    overlay = Image.open(entries[0]["overlay"])
    assert overlay.size == Image.open(image).size and overlay.mode == "RGB"
    y, x = entries[0]["peak"]
    assert 0 <= y <= 1 and 0 <= x <= 1
    # The MLP has no convolution: asking for a layer is a user mistake, said in one line.
    assert main(["explain", str(run_dir), str(image), "--out", str(tmp_path / "o2"), "--layer", "dense_1"]) == 2
    assert "saliency" in capsys.readouterr().err


def test_cli_classify_threshold_in_a_real_process(digits_run, tmp_path: Path) -> None:
    _, dataset, run_dir, _ = digits_run
    digit = paper_copy(dataset.x_val[3], tmp_path / "digit.png")
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (50, 50, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "classify",
            str(run_dir),
            str(digit),
            str(tmp_path / "noise.png"),
            "--threshold",
            "1.0",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    first, noise = json.loads(proc.stdout)
    assert set(first) == {"path", "top", "familiar", "ood_score", "ood_parts", "verdict"}
    assert isinstance(first["familiar"], bool) and isinstance(first["ood_score"], float)
    assert set(first["ood_parts"]) == {"features", "image"} and first["ood_score"] == max(first["ood_parts"].values())
    assert noise["ood_score"] > 1.0 and max(noise["ood_parts"].values()) > 1.0
    assert first["familiar"] is True and first["verdict"] == NOT_SURE  # nothing reaches probability 1.0 here
    assert noise["familiar"] is False and noise["verdict"] == UNFAMILIAR
    bad = subprocess.run(
        [sys.executable, "-m", "engine.cli", "classify", str(run_dir), str(digit), "--threshold", "2"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr
