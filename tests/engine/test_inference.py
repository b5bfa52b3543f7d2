"""Inference: preprocessing derived from the data, top-k, and odd inputs, with a real tiny model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.config import ExperimentConfig
from engine.core.errors import ImageError, RunError
from engine.images.prepare import preprocess
from engine.images.spec import PreprocessSpec
from engine.inference.classifier import Classifier

pytest.importorskip("tensorflow")
from engine.datasets import load_dataset
from engine.training.trainer import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    config = ExperimentConfig().updated(**{"training.epochs": 15, "training.batch_size": 32})
    dataset = load_dataset(config.data, seed=0)
    run_dir = tmp_path_factory.mktemp("runs") / "digits"
    result = train(config, dataset=dataset, run_dir=run_dir)
    assert result.failed is None
    return result, dataset, run_dir


def draw_one(path: Path, size=(300, 220)) -> Path:
    """A dark '1' on light paper, off-centre, not square: nothing like the 8×8 training data."""
    image = Image.new("RGB", size, (235, 232, 228))
    draw = ImageDraw.Draw(image)
    draw.line([(180, 30), (180, 190)], fill=(20, 20, 30), width=18)
    draw.line([(150, 60), (180, 30)], fill=(20, 20, 30), width=14)
    image.save(path)
    return path


def test_spec_comes_from_the_training_data(trained) -> None:
    result, dataset, _ = trained
    spec = result.spec
    assert (spec.height, spec.width, spec.channels) == dataset.input_shape
    assert spec.polarity == "light_on_dark" and spec.fit_content
    assert list(spec.class_names) == dataset.class_names
    assert PreprocessSpec.from_dict(spec.to_dict()) == spec


def test_dark_ink_on_paper_is_inverted_centred_and_resized(tmp_path: Path, trained) -> None:
    spec = trained[0].spec
    array = preprocess(draw_one(tmp_path / "one.png"), spec)
    assert array.shape == (8, 8, 1) and array.dtype == np.float32
    assert array.max() > 200 and array[0].mean() < 60  # bright strokes on a dark border
    columns = array[..., 0].mean(axis=0)
    assert 2 <= int(np.argmax(columns)) <= 5  # the stroke was moved to the middle


def paper_copy(digit: np.ndarray, path: Path) -> Path:
    """A validation digit as a person might photograph it: dark ink on light paper, enlarged,
    off-centre on a non-square sheet."""
    ink = Image.fromarray(255 - digit[..., 0], "L").resize((120, 120), Image.Resampling.BILINEAR)
    paper = Image.new("L", (320, 200), 255)
    paper.paste(ink, (170, 50))
    paper.convert("RGB").save(path)
    return path


def test_classify_a_file_bytes_and_pil_image(tmp_path: Path, trained) -> None:
    _result, dataset, run_dir = trained
    classifier = Classifier.from_run(run_dir)
    path = paper_copy(dataset.x_val[0], tmp_path / "digit.png")
    by_path = classifier.classify(path, top_k=3)
    by_bytes = classifier.classify(path.read_bytes(), top_k=3)
    by_pil = classifier.classify(Image.open(path), top_k=3)
    assert len(by_path.top) == 3
    probs = [p for _, p in by_path.top]
    assert probs == sorted(probs, reverse=True) and 0 <= probs[-1] <= probs[0] <= 1
    assert by_path.top == by_bytes.top == by_pil.top
    assert by_path.input.shape == (8, 8, 1)


def test_photographed_digits_get_the_same_answer_as_the_originals(tmp_path: Path, trained) -> None:
    _result, dataset, run_dir = trained
    classifier = Classifier.from_run(run_dir)
    direct = classifier.probabilities(dataset.x_val[:30].astype(np.float32)).argmax(axis=1)
    same = sum(
        classifier.classify(paper_copy(digit, tmp_path / f"{i}.png"), top_k=1).top[0][0]
        == dataset.class_names[direct[i]]
        for i, digit in enumerate(dataset.x_val[:30])
    )
    assert same >= 24, f"only {same}/30 photographed digits kept their answer"


def test_validation_digits_are_classified_like_in_training(trained) -> None:
    _result, dataset, run_dir = trained
    classifier = Classifier.from_run(run_dir / "model.keras")
    correct = 0
    for image, label in zip(dataset.x_val[:40], dataset.y_val[:40]):
        png = io.BytesIO()
        Image.fromarray(image[..., 0], "L").save(png, format="PNG")
        correct += classifier.classify(png.getvalue(), top_k=1).top[0][0] == dataset.class_names[label]
    assert correct >= 34


@pytest.mark.parametrize("payload, message", [(b"%PDF-1.4\n%...", "PDF"), (b"\x89PNG\r\n\x1a\nbroken", "png")])
def test_non_images_raise_image_error(tmp_path: Path, trained, payload: bytes, message: str) -> None:
    classifier = Classifier.from_run(trained[2])
    path = tmp_path / "file.png"
    path.write_bytes(payload)
    with pytest.raises(ImageError, match=message):
        classifier.classify(path)


def test_sixteen_bit_cmyk_and_animated_inputs(tmp_path: Path, trained) -> None:
    classifier = Classifier.from_run(trained[2])
    deep = np.full((40, 40), 60000, np.uint16)
    deep[10:30, 18:22] = 2000
    Image.fromarray(deep).save(tmp_path / "deep.png")
    Image.new("CMYK", (30, 50), (0, 0, 0, 10)).save(tmp_path / "cmyk.jpg")
    frames = [Image.new("L", (20, 20), v) for v in (255, 0)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    for name in ("deep.png", "cmyk.jpg", "anim.gif"):
        assert len(classifier.classify(tmp_path / name).top) == 3


def test_a_folder_without_preprocessing_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunError):
        Classifier.from_run(tmp_path)
