"""The window against hostile input: every drop, paste or open gives a clear message, the window
stays responsive, a broken model never answers, quitting never hangs, no crash loop."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl

from engine.config import ExperimentConfig
from tests.gui.conftest import TRAIN_TIMEOUT_MS


def _mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_a_dataset_is_remembered_only_once_it_has_loaded(make_window, qtbot, tmp_path: Path) -> None:
    first = make_window(**{"data.name": "digits", "data.limit": 200})
    qtbot.waitUntil(lambda: first.session.data.status == "ready", timeout=60_000)
    with qtbot.waitSignal(first.dataset_loaded, timeout=60_000):
        first.session.config.update(**{"data.name": f"npz:{tmp_path / 'absent.npz'}"})
    assert first.session.data.status == "failed"
    first.close()
    second = make_window()
    assert second.session.config.config.data.name == "digits" and second.session.config.config.data.limit == 200


def test_a_dataset_that_killed_the_last_session_is_not_loaded_again(make_window, qtbot, tmp_path: Path) -> None:
    from gui.settings import Settings

    bomb = f"npz:{tmp_path / 'bomb.npz'}"
    settings = Settings()
    settings.save_config(ExperimentConfig().updated(**{"data.name": bomb, "training.epochs": 3}))
    settings.mark_loading(bomb)  # as the last session left it when the process died
    window = make_window()
    assert window.session.config.config.data.name == "digits"
    assert window.session.config.config.training.epochs == 3  # the rest is kept
    assert "closed while loading npz: bomb.npz" in window.message_bar.text
    qtbot.waitUntil(lambda: window.session.data.status == "ready", timeout=60_000)
    assert not Settings().loading_when_closed()
    assert "closed while loading npz: bomb.npz" in window.message_bar.text  # still said once digits loaded


def _lambda_run(trained_run: Path, tmp_path: Path) -> Path:
    """A copy of a real run whose model.keras holds a Lambda layer (code)."""
    import shutil

    import keras

    copy = tmp_path / "lambda_run"
    shutil.copytree(trained_run, copy)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(lambda t: t * 1.0)(inputs)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    keras.Model(inputs, outputs).save(copy / "model.keras")
    return copy


def test_a_run_whose_model_cannot_load_leaves_no_model_answering(
    window, qtbot, trained_run, tmp_path, digit_png
) -> None:
    with qtbot.waitSignal(window.classifier_ready, timeout=60_000):
        window.runs.open_run(str(trained_run))
    assert window.session.classifier.classifier is not None
    broken = _lambda_run(trained_run, tmp_path)
    with qtbot.waitSignal(window.run_opened, timeout=60_000):
        window.runs.open_run(str(broken))
    assert window.session.classifier.classifier is None
    text = window.message_bar.text
    assert "code" in text and "safe_mode" not in text and "Traceback" not in text
    assert "cannot classify" in window.classify_panel.model_label.text()
    window.handle_drop(_mime(digit_png))
    qtbot.waitUntil(lambda: bool(window.classify_panel.cards), timeout=10_000)
    card = next(iter(window.classify_panel.cards.values()))
    qtbot.waitUntil(lambda: window.tasks.idle, timeout=10_000)
    assert card.prediction is None and "train or open a run first" in card.status.text()


def test_hostile_drops_each_get_a_message_and_nothing_blocks(window, qtbot, trained_run, tmp_path, digit_png) -> None:
    with qtbot.waitSignal(window.classifier_ready, timeout=60_000):
        window.runs.open_run(str(trained_run))
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    dangling = tmp_path / "gone.png"
    dangling.symlink_to(tmp_path / "never-existed.png")
    odd_name = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.png")  # not UTF-8: undecodable bytes in the name
    Path(odd_name).write_bytes(digit_png.read_bytes())
    eps = tmp_path / "drawing.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    tickets: list[int] = []
    window.classified.connect(tickets.append)
    t0 = time.monotonic()
    window.classify.classify_sources([str(fifo), "/dev/zero", str(dangling), odd_name, str(eps), str(digit_png)])
    qtbot.waitUntil(lambda: len(tickets) == 6, timeout=30_000)
    assert time.monotonic() - t0 < 20
    cards = [window.classify_panel.cards[t] for t in sorted(tickets)]
    errors = [card.error for card in cards]
    assert all(errors[:3]) and errors[4] and not errors[5]
    assert ("pipe" in errors[0].lower() and "regular file" in errors[1]) or "device" in errors[1].lower()
    assert "PNG, JPEG" in errors[4]  # says what it accepts
    assert cards[3].prediction is not None  # an odd name is still an image
    assert all("Traceback" not in e for e in errors)
    t1 = time.monotonic()
    window.close()
    assert time.monotonic() - t1 < 10  # quitting never waits on a read


def test_a_folder_without_images_says_so_and_big_folders_say_they_were_cut(window, qtbot, tmp_path, digit_png) -> None:
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("no pictures here")
    window.handle_drop(_mime(empty))
    qtbot.waitUntil(lambda: "no images in notes" in window.message_bar.text, timeout=10_000)
    assert not window.classify_panel.cards
    many = tmp_path / "many"
    many.mkdir()
    for i in range(205):
        (many / f"{i:03d}.png").write_bytes(digit_png.read_bytes())
    window.handle_drop(_mime(many))
    qtbot.waitUntil(lambda: "only the first 200 images" in window.message_bar.text, timeout=10_000)
    qtbot.waitUntil(lambda: window.classify_panel.removed > 0, timeout=10_000)
    assert len(window.classify_panel.cards) == 60 and "older" in window.classify_panel.removed_note.text()


def test_an_old_error_banner_goes_once_things_load(window, qtbot, trained_run, tmp_path) -> None:
    with qtbot.waitSignal(window.dataset_loaded, timeout=60_000):
        window.session.config.update(**{"data.name": f"folder:{tmp_path / 'nowhere'}"})
    assert window.message_bar.level == "error" and "Dataset problem" in window.message_bar.text
    with qtbot.waitSignal(window.dataset_loaded, timeout=60_000):
        window.session.config.update(**{"data.name": "digits"})
    assert window.message_bar.text == ""
    window.runs.open_run(str(tmp_path))  # not a run: an error
    qtbot.waitUntil(lambda: "Cannot open run" in window.message_bar.text, timeout=60_000)
    assert window.message_bar.level == "error"
    with qtbot.waitSignal(window.classifier_ready, timeout=60_000):
        window.runs.open_run(str(trained_run))
    assert window.message_bar.text == ""


def test_training_failure_keeps_its_traceback_in_the_log(window, qtbot) -> None:
    """The banner says one readable line; the log keeps everything (Help → Show log)."""
    from gui.logs import read_tail

    window.session.config.update(
        **{
            "training.learning_rate": 10.0,
            "training.optimizer": "sgd",
            "arch.activation": "elu",
            "arch.dropout": False,
            "training.epochs": 5,
        }
    )
    with qtbot.waitSignal(window.training_finished, timeout=TRAIN_TIMEOUT_MS):
        window.training.start()
    assert "\n" not in window.message_bar.text
    log = read_tail(window.log_path)
    assert "training failed (nan)" in log and "diverged" in log


def test_the_log_dialog_shows_the_log(window, qtbot) -> None:
    window.show_log()
    dialog = window._log_dialog
    qtbot.addWidget(dialog)
    assert "window opened" in dialog.text.toPlainText()
    dialog.close()


def test_a_dropped_file_whose_name_is_not_utf8_is_found_by_its_bytes(tmp_path: Path) -> None:
    from gui.dropping import sources_from_mime

    real = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.png")
    Path(real).write_bytes(b"x")
    mime = QMimeData()
    mime.setUrls([QUrl(f"file://{tmp_path.as_posix()}/caf%E9.png"), QUrl(f"file://{tmp_path.as_posix()}/a%20b.png")])
    assert sources_from_mime(mime) == [real, str(tmp_path / "a b.png")]  # a file manager's raw bytes, kept
